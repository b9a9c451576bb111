"""The survey import page (`/insights/surveys/import/`): upload a CSV of NPS/CSAT answers,
the same service as `manage.py import_surveys`."""

from __future__ import annotations

import io

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from scrm.actors import Actor

from .surveys_import import REQUIRED_COLUMNS, SurveyImportRejected, surveys_import_csv

MAX_UPLOAD_MB = 20


class SurveyImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"), widget=forms.ClearableFileInput(attrs={"accept": ".csv"})
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(n)d MB: split it.") % {"n": MAX_UPLOAD_MB}
            )
        return upload


@login_required
@permission_required("influence.add_surveyresponse", raise_exception=True)
def survey_import_page(request: HttpRequest) -> HttpResponse:
    form = SurveyImportForm(request.POST, request.FILES) if request.method == "POST" else SurveyImportForm()
    context: dict[str, object] = {"form": form, "required": REQUIRED_COLUMNS}
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        stream = io.TextIOWrapper(upload.file, encoding="utf-8-sig", newline="")
        try:
            context["summary"] = surveys_import_csv(
                stream=stream, actor=Actor.for_user(request.user), source_name=upload.name
            )
        except SurveyImportRejected as error:
            context["rejected"] = error
            status = 400
        except UnicodeDecodeError:
            form.add_error("file", _("This file is not UTF-8 text. Save it as “CSV UTF-8” and try again."))
            status = 400
        finally:
            stream.detach()
    elif request.method == "POST":
        status = 400
    return render(request, "influence/survey_import.html", context, status=status)

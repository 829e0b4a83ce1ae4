from django import forms

MAX_TASKS_PAGE = 10_000


class TasksPageForm(forms.Form):
    """The Tasks page's query string: which page (from 1)."""

    page = forms.IntegerField(min_value=1, max_value=MAX_TASKS_PAGE, required=False)

    def clean_page(self) -> int:
        return self.cleaned_data["page"] or 1

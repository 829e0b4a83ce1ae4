"""Filter states for collection tests, in the explorer's JSON form."""


def folder_filter(folder) -> dict:
    return {"scope": f"folder:{folder.pk}"}


def workspace_filter() -> dict:
    return {}

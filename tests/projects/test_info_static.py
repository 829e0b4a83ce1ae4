"""The Info tab's static assets survive the production static pipeline (hashed, compressed names)."""

import json

from django.core.management import call_command
from django.test import override_settings

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_collectstatic_with_the_manifest_storage_hashes_the_vendored_editor(tmp_path):
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=PRODUCTION_STORAGES, DEBUG=False):
        call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in ("vendor/vanilla-jsoneditor/standalone.js", "js/info.js", "css/info.css"):
        hashed = manifest[name]
        assert hashed != name
        assert (tmp_path / hashed).exists()
    editor = manifest["vendor/vanilla-jsoneditor/standalone.js"]
    assert (tmp_path / f"{editor}.gz").exists()
    assert "sourceMappingURL" not in (tmp_path / editor).read_text()
    assert (tmp_path / "vendor/vanilla-jsoneditor/LICENSE.md").exists()

"""Every error that carries a message for people derives from the one base, MessageError, and `.message` is
the text it was raised with."""

import pytest

from metadata_site.compat.encord.schema_map import SchemaMappingError
from metadata_site.compat.keys import InvalidPublicKey
from metadata_site.compat.services import SshKeyInvalid
from metadata_site.imports.exports import ExportError
from metadata_site.imports.media_import import MediaImportError
from metadata_site.imports.parsers import ImportFileError
from metadata_site.imports.services import ImportTaskError
from metadata_site.items.services import ChangeSetError, MetadataWriteError
from metadata_site.lib.cursor import CursorError
from metadata_site.lib.errors import MessageError
from metadata_site.lib.safeschema import SchemaProblem
from metadata_site.lib.strictjson import StrictJSONError
from metadata_site.projects.services import InfoError, ProjectDatasetError, ReadmeInvalid
from metadata_site.schemas.declarations import FieldDeclarationError
from metadata_site.schemas.services import SchemaError
from metadata_site.schemas.validation import FieldValueError

USER_MESSAGE_ERRORS = [
    SchemaError, FieldValueError, FieldDeclarationError, MetadataWriteError, ChangeSetError,
    ImportFileError, ExportError, MediaImportError, ImportTaskError, InfoError, ReadmeInvalid, ProjectDatasetError,
    StrictJSONError, SchemaProblem, CursorError, SshKeyInvalid, InvalidPublicKey, SchemaMappingError,
]


@pytest.mark.parametrize("cls", USER_MESSAGE_ERRORS, ids=lambda c: c.__name__)
def test_an_error_with_a_user_message_is_a_message_error_whose_message_is_its_text(cls):
    assert issubclass(cls, MessageError)
    err = cls("Field “x”: expected a number.")
    assert err.message == "Field “x”: expected a number."
    assert str(err) == "Field “x”: expected a number."


def test_an_import_file_error_still_gives_its_reason():
    assert ImportFileError("The file is empty.").reason == "The file is empty."

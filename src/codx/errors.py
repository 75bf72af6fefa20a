"""One error hierarchy for codx. Every message says what to do next."""


class CodxError(Exception):
    """Base class: the CLI prints these as a one-line message and exits non-zero."""


class PackError(CodxError):
    """A knowledge pack could not be built, loaded or validated."""


class PackNotFoundError(PackError):
    """A pack was asked for by name but is not built yet."""


class UnknownFindingError(CodxError):
    """A finding id is not in any active pack (after mapping obsolete ids)."""


class CaseError(CodxError):
    """One benchmark case or consultation input is malformed; the run continues without it."""

    def __init__(self, message: str, case_id: str | None = None):
        super().__init__(message)
        self.case_id = case_id


class ModelNotTrainedError(CodxError):
    """A diagnosis model was asked for but has not been trained yet."""


class InputFileError(CodxError):
    """A user-supplied data file is missing or has the wrong format."""


class ToolError(CodxError):
    """An agent tool was given something it may not do (a path outside its folder, no model loaded, ...)."""


class EncoderError(CodxError):
    """A text encoder's weights are missing, unreadable or in an unknown format."""


class SpeechModelError(CodxError):
    """Speech weights are missing, unreadable or in an unknown format."""


class AudioError(CodxError):
    """Audio could not be used (empty, corrupt, unsupported, too long, silent); nothing else is lost."""


class LanguageModelError(CodxError):
    """A language model is missing, unconvertible or unreadable; the message says what to run."""


class LanguageModelRequestError(LanguageModelError):
    """One request to a language model is invalid (no messages, an unknown role, too many tokens asked for);
    `param` names the request field at fault (messages, max_tokens, temperature, stop)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param

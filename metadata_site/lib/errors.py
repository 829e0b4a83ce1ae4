"""A base for errors whose `message` is shown to the user as it is."""


class MessageError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

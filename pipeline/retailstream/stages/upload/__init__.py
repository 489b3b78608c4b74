"""Stage 1, upload: the incoming sales, stores and store-traffic files into the raw bucket."""

from retailstream.stages.upload.upload import UploadError, UploadReport, upload_incoming

__all__ = ["UploadError", "UploadReport", "upload_incoming"]

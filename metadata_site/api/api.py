from ninja import NinjaAPI

api = NinjaAPI(title="metadata_site API", version="1", urls_namespace="api")


@api.get("/health", tags=["meta"], auth=None)
def health(request) -> dict:
    return {"status": "ok"}

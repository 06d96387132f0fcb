from fastapi.testclient import TestClient

from app.main import Settings, app

client = TestClient(app)


def test_healthz() -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_root_describes_the_service() -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "${{ values.name }}"
    assert body["description"] == ${{ values.description | dump }}
    assert body["owner"] == "${{ values.owner }}"


def test_openapi_title_is_the_service_name() -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "${{ values.name }}"


def test_hello() -> None:
    assert client.get("/hello/world").json() == {"message": "Hello, world."}
    assert client.get("/hello/world", params={"excited": True}).json() == {"message": "Hello, world!"}


def test_readyz_reports_configured_resources() -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["resources"]) == {"database", "redis", "bucket", "queue"}


def test_settings_start_without_resources(monkeypatch) -> None:
    for var in ("DATABASE_HOST", "REDIS_HOST", "BUCKET_NAME", "QUEUE_URL", "PORT"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings.from_env()
    assert settings.resources() == {"database": False, "redis": False, "bucket": False, "queue": False}
    assert settings.port == ${{ values.http_port }}


def test_settings_read_resource_connections(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_HOST", "db.internal")
    monkeypatch.setenv("DATABASE_PORT", "6543")
    monkeypatch.setenv("BUCKET_NAME", "${{ values.name }}-data")
    settings = Settings.from_env()
    assert settings.database_host == "db.internal"
    assert settings.database_port == 6543
    assert settings.resources()["bucket"] is True


def test_metrics_count_requests_by_route() -> None:
    client.get("/hello/someone")
    text = client.get("/metrics").text
    assert "# TYPE http_requests_total counter" in text
    assert 'service="${{ values.name }}",method="GET",path="/hello/{who}",code="200"' in text

"""Validates docker-compose.yml: syntax, the three services, health checks and start order."""
import sys

import yaml  # PyYAML; .ci/run installs it if missing

with open("docker-compose.yml") as f:
    doc = yaml.safe_load(f)

services = doc["services"]
assert set(services) >= {"db", "redis", "app"}, services.keys()
assert services["db"]["image"].startswith("postgres:15"), services["db"]["image"]
assert services["redis"]["image"].startswith("redis:7"), services["redis"]["image"]
for name in ("db", "redis", "app"):
    assert "test" in services[name]["healthcheck"], f"{name} lacks a health check"
deps = services["app"]["depends_on"]
for dep in ("db", "redis"):
    assert deps[dep]["condition"] == "service_healthy", f"app must wait for a healthy {dep}"
assert services["app"]["build"], "app is built from the repository"
print("docker-compose.yml: ok")
sys.exit(0)

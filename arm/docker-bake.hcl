# Multi-arch images of our services (one target each of the Dockerfile), for a registry the
# Pis pull from:
#   docker buildx create --use --name alertloop        # once; QEMU emulates the ARM builds
#   ALERTLOOP_REGISTRY=registry.example.lan/ ALERTLOOP_TAG=0.1.0 docker buildx bake -f arm/docker-bake.hcl --push
# Run it from the repository root (the build context). Without --push, `--set *.output=...`
# or a single platform (`--set *.platform=linux/arm64 --load`) keeps the result local.

variable "ALERTLOOP_REGISTRY" {
  # Prefix with a trailing slash, e.g. "ghcr.io/you/"; empty means local names.
  default = ""
}

variable "ALERTLOOP_TAG" {
  default = "local"
}

group "default" {
  targets = ["listener", "webhook", "opcua-bridge", "actions", "console", "mosquitto"]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
  labels     = {
    "org.opencontainers.image.source" = "alertloop"
  }
}

target "listener" {
  inherits = ["_common"]
  target   = "listener"
  tags     = ["${ALERTLOOP_REGISTRY}alertloop-listener:${ALERTLOOP_TAG}"]
}

target "webhook" {
  inherits = ["_common"]
  target   = "webhook"
  tags     = ["${ALERTLOOP_REGISTRY}alertloop-webhook:${ALERTLOOP_TAG}"]
}

target "opcua-bridge" {
  inherits = ["_common"]
  target   = "opcua-bridge"
  tags     = ["${ALERTLOOP_REGISTRY}alertloop-opcua-bridge:${ALERTLOOP_TAG}"]
}

target "actions" {
  inherits = ["_common"]
  target   = "actions"
  tags     = ["${ALERTLOOP_REGISTRY}alertloop-actions:${ALERTLOOP_TAG}"]
}

target "console" {
  inherits = ["_common"]
  target   = "console"
  tags     = ["${ALERTLOOP_REGISTRY}alertloop-console:${ALERTLOOP_TAG}"]
}

target "mosquitto" {
  inherits   = ["_common"]
  context    = "mosquitto"
  dockerfile = "Dockerfile"
  tags       = ["${ALERTLOOP_REGISTRY}alertloop-mosquitto:${ALERTLOOP_TAG}"]
}

# The artifact in a container (README "In a container"): Debian 12, the Debian packages
# and the virtualenv installed by the same `make setup` (and `make test-packages`) that
# README's commands run, and the pipeline as the default command.
#   docker build -t popcorn-artifact .
#   docker run --privileged -v popcorn-results:/artifact/results \
#       -v popcorn-cache:/root/.cache/popcorn-artifact popcorn-artifact          # make run
#   docker run --privileged ... popcorn-artifact make test
# The base must be Debian 12 (the package lists name its packages); `make container-test`
# passes one imported from a debootstrap root.
ARG BASE=debian:12
FROM ${BASE}

# Certificates of a TLS-intercepting proxy on the way to PyPI (PEM text, empty for none):
# `make container-test` passes the host's /usr/local/share/ca-certificates.
ARG EXTRA_CA_CERTS=""
ENV DEBIAN_FRONTEND=noninteractive
# pip trusts the system's certificates (with those above), not only its own bundle.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# What `make setup` needs before it can run at all.
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
        make python3 ca-certificates \
    && if [ -n "$EXTRA_CA_CERTS" ]; then \
        printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/ca-certificates/extra.crt \
        && update-ca-certificates; fi

WORKDIR /artifact
# The install step first, from its own files only: a change to the pipeline's code keeps
# this layer. apt's lists stay: the pipeline fetches guest packages (nginx, criu) with them.
COPY Makefile requirements.txt ./
COPY setup/ setup/
RUN make setup test-packages

COPY . .
# Outputs and the kernel cache (trees, build, ccache) outlive the container: a second run
# reuses the kernel build.
VOLUME ["/artifact/results", "/root/.cache/popcorn-artifact"]
CMD ["make", "run"]

# syntax=docker/dockerfile:1
# Two stages: build the release binary, then copy it alone onto a distroless base that runs as a non-root user.

FROM rust:1.95-slim-bookworm AS build
# aws-lc-rs (the TLS crypto provider) builds C code with cmake.
RUN apt-get update && apt-get install -y --no-install-recommends cmake clang && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY tests ./tests
RUN cargo build --release --locked -p sfn-operator --bin sfn-operator \
    && strip target/release/sfn-operator

# distroless/cc has glibc and CA certificates and nothing else: no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/sfn-operator /sfn-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/sfn-operator"]
CMD ["run"]

//! Reading manifests (multi-document YAML, raw `.asl.json`) into the API types, for the offline commands.

//! Thin adapters over Step Functions, IAM and CloudWatch: the only AWS I/O.

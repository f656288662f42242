//! API keys with scopes: the one key vocabulary of the mesh lives in [`isthmus_grpc::keys`]
//! (the services' gRPC bearer tokens use it too); the gateway re-exports it here.
//! A key is presented as `Authorization: Bearer <key>`; keys come from the secret
//! `ISTHMUS_GATEWAY__API_KEYS` (or `gateway.api_keys_file`).

pub use isthmus_grpc::keys::*;

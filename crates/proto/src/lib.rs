//! The gRPC contracts of Isthmus, generated from `proto/` at build time, and [`ErrorCode`]: the
//! one stable error vocabulary that gRPC services and the REST gateway both speak.
//!
//! A service returns a `tonic::Status` built by [`ErrorCode::status`]; the stable code travels in
//! the `isthmus-error-code` metadata entry, so the gateway can turn it back into the same code and
//! the matching HTTP status without parsing messages.

pub mod error;

pub use error::{rejected, shown, ErrorCode};

/// `isthmus.common.v1`
pub mod common {
    pub mod v1 {
        tonic::include_proto!("isthmus.common.v1");
    }
}

/// `isthmus.customers.v1`
pub mod customers {
    pub mod v1 {
        tonic::include_proto!("isthmus.customers.v1");
    }
}

/// `isthmus.jobs.v1`
pub mod jobs {
    pub mod v1 {
        tonic::include_proto!("isthmus.jobs.v1");
    }
}

/// `isthmus.catalog.v1`
pub mod catalog {
    pub mod v1 {
        tonic::include_proto!("isthmus.catalog.v1");
    }
}

/// `isthmus.orders.v1`
pub mod orders {
    pub mod v1 {
        tonic::include_proto!("isthmus.orders.v1");
    }
}

/// `isthmus.finance.v1`
pub mod finance {
    pub mod v1 {
        tonic::include_proto!("isthmus.finance.v1");
    }
}

pub mod reconcile {
    pub mod v1 {
        tonic::include_proto!("isthmus.reconcile.v1");
    }
}

/// Encoded `FileDescriptorSet` of every proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/isthmus_descriptor.bin"));

//! Fixed development credentials accepted by the sandbox: public, and meaningless anywhere else.

/// Salesforce connected-app consumer key (`client_id`).
pub const SF_CLIENT_ID: &str = "isthmus-sandbox-client";
/// Salesforce connected-app consumer secret (`client_secret`).
pub const SF_CLIENT_SECRET: &str = "isthmus-sandbox-secret";
/// Username of the integration user (for the OAuth password grant).
pub const SF_USERNAME: &str = "integration@isthmus.example";
/// Password of the integration user (for the OAuth password grant).
pub const SF_PASSWORD: &str = "isthmus-sandbox-password";
/// The RSA private key (PKCS#8 PEM) of the connected app's certificate: signs the RS256 JWT of the
/// OAuth 2.0 JWT bearer grant (`iss` [`SF_CLIENT_ID`], `sub` [`SF_USERNAME`]).
pub const SF_JWT_PRIVATE_KEY_PEM: &str = include_str!("../keys/sf-jwt-private.pem");
/// NetSuite account id, the OAuth `realm`.
pub const NS_ACCOUNT_ID: &str = "1234567";
/// NetSuite integration record consumer key.
pub const NS_CONSUMER_KEY: &str = "isthmus-sandbox-consumer-key";
/// NetSuite integration record consumer secret.
pub const NS_CONSUMER_SECRET: &str = "isthmus-sandbox-consumer-secret";
/// NetSuite access token id.
pub const NS_TOKEN_ID: &str = "isthmus-sandbox-token-id";
/// NetSuite access token secret.
pub const NS_TOKEN_SECRET: &str = "isthmus-sandbox-token-secret";

/// NetSuite integration record client id for OAuth 2.0 client credentials (M2M): the JWT `iss`.
pub const NS_M2M_CLIENT_ID: &str = "isthmus-sandbox-m2m-client";
/// Certificate id (JWT `kid`) of the EC P-256 key registered for M2M; signs ES256.
pub const NS_M2M_EC_CERTIFICATE_ID: &str = "isthmus-sandbox-cert-ec-p256";
/// The EC P-256 private key (PKCS#8 PEM) behind [`NS_M2M_EC_CERTIFICATE_ID`].
pub const NS_M2M_EC_PRIVATE_KEY_PEM: &str = include_str!("../keys/m2m-ec-p256.pem");
/// Certificate id (JWT `kid`) of the RSA 2048 key registered for M2M; signs PS256/384/512 and RS256/384/512.
pub const NS_M2M_RSA_CERTIFICATE_ID: &str = "isthmus-sandbox-cert-rsa-2048";
/// The RSA private key (PKCS#8 PEM) behind [`NS_M2M_RSA_CERTIFICATE_ID`].
pub const NS_M2M_RSA_PRIVATE_KEY_PEM: &str = include_str!("../keys/m2m-rsa-2048.pem");

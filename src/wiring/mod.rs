//! From configuration to running parts: the store, the connector clients, the audit log and
//! the Salesforce allocation every service shares, and each service's parts (its gRPC routes,
//! the dispatcher and worker on its own queue, its schedules), one file per service.

pub mod catalog;
pub mod console;
mod customers;
pub mod finance;
pub mod grpc;
pub mod orders;

pub use customers::{customer_flows, customers_service};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::future::BoxFuture;
use isthmus_engine::alerts::Alerts;
use isthmus_engine::audit::SyncLog;
use isthmus_engine::config::{NetSuiteAuthKind, SalesforceAuthKind, SchedulesConfig};
use isthmus_engine::governance::{
    AdaptiveLimit, AdaptivePolicy, NetSuiteSlots, SalesforceAllocation, NETSUITE_LIMIT_STATUS,
};
use isthmus_engine::reconcile::{self, ReconcileOptions, Reconciler};
use isthmus_engine::schedule::Scheduler;
use isthmus_engine::work::{Dispatcher, JobRunner, Jobs, Worker};
use isthmus_engine::{Config, Secrets};
use isthmus_gateway::{ApiKeys, GatewaySettings};
use isthmus_grpc::jobs::JobQueueService;
use isthmus_grpc::reconcile::ReconcileService;
use isthmus_grpc::{ServiceRoutes, Shared};
use isthmus_netsuite::{JwtAlgorithm, NetSuiteAuth, NetSuiteClient, NetSuiteConfig};
use isthmus_salesforce::{SalesforceAuth, SalesforceClient, SalesforceConfig};
use isthmus_store::{MemoryStore, RedisStore, RedisTls, Store};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

fn jwt_algorithm(name: &str) -> anyhow::Result<JwtAlgorithm> {
    Ok(match name {
        "PS256" => JwtAlgorithm::PS256,
        "PS384" => JwtAlgorithm::PS384,
        "PS512" => JwtAlgorithm::PS512,
        "ES256" => JwtAlgorithm::ES256,
        "ES384" => JwtAlgorithm::ES384,
        "RS256" => JwtAlgorithm::RS256,
        other => {
            bail!("netsuite.algorithm {other:?}: use PS256, PS384, PS512, ES256, ES384 or RS256")
        }
    })
}

/// Redis when `store.redis_url` is set; the in-memory store only when `allow_memory` (dev).
pub async fn store(config: &Config, allow_memory: bool) -> anyhow::Result<Arc<dyn Store>> {
    if config.store.redis_url.is_empty() {
        if !allow_memory {
            bail!("store.redis_url is not set (ISTHMUS_STORE__REDIS_URL): services need Redis");
        }
        return Ok(Arc::new(MemoryStore::new()));
    }
    let file = |path: &str| (!path.is_empty()).then(|| PathBuf::from(path));
    let tls = RedisTls {
        ca_file: file(&config.store.tls_ca_file),
        cert_file: file(&config.store.tls_cert_file),
        key_file: file(&config.store.tls_key_file),
    };
    let store = RedisStore::connect_with(&config.store.redis_url, &tls, &config.store.connection)
        .await
        .context("connecting to Redis")?;
    Ok(Arc::new(store))
}

fn required(secret: &Option<SecretString>, env: &str) -> anyhow::Result<SecretString> {
    secret
        .clone()
        .with_context(|| format!("secret missing: set {env} or its *_file config key"))
}

pub fn salesforce(config: &Config, secrets: &Secrets) -> anyhow::Result<SalesforceClient> {
    let s = &config.salesforce;
    let auth = match s.auth {
        SalesforceAuthKind::ClientCredentials => SalesforceAuth::ClientCredentials {
            client_id: s.client_id.clone(),
            client_secret: required(
                &secrets.salesforce_client_secret,
                "ISTHMUS_SALESFORCE__CLIENT_SECRET",
            )?,
        },
        SalesforceAuthKind::JwtBearer => SalesforceAuth::JwtBearer {
            client_id: s.client_id.clone(),
            username: s.username.clone(),
            private_key_pem: required(
                &secrets.salesforce_private_key,
                "ISTHMUS_SALESFORCE__PRIVATE_KEY",
            )?,
            audience: (!s.jwt_audience.is_empty()).then(|| s.jwt_audience.clone()),
        },
    };
    Ok(SalesforceClient::new(SalesforceConfig {
        login_url: s.login_url.clone(),
        api_version: s.api_version.clone(),
        auth,
        timeout: Duration::from_millis(s.timeout_ms),
    })?)
}

/// The NetSuite client, every call of which holds a slot of the account-wide semaphore in
/// `store`, under the limit learned there when `netsuite.adaptive_concurrency` is on.
pub fn netsuite(
    config: &Config,
    secrets: &Secrets,
    store: Arc<dyn Store>,
) -> anyhow::Result<NetSuiteClient> {
    let n = &config.netsuite;
    let auth = match n.auth {
        NetSuiteAuthKind::Tba => NetSuiteAuth::Tba {
            consumer_key: n.consumer_key.clone(),
            consumer_secret: required(
                &secrets.netsuite_consumer_secret,
                "ISTHMUS_NETSUITE__CONSUMER_SECRET",
            )?,
            token_id: n.token_id.clone(),
            token_secret: required(
                &secrets.netsuite_token_secret,
                "ISTHMUS_NETSUITE__TOKEN_SECRET",
            )?,
        },
        NetSuiteAuthKind::Oauth2 => NetSuiteAuth::OAuth2 {
            client_id: n.client_id.clone(),
            certificate_id: n.certificate_id.clone(),
            private_key_pem: required(
                &secrets.netsuite_private_key,
                "ISTHMUS_NETSUITE__PRIVATE_KEY",
            )?,
            algorithm: jwt_algorithm(&n.algorithm)?,
            scopes: n.scopes.clone(),
        },
    };
    let timeout = Duration::from_millis(n.timeout_ms);
    let mut gate = NetSuiteSlots::new(store.clone(), n.concurrency_limit, timeout);
    if n.adaptive_concurrency {
        let policy = AdaptivePolicy {
            decrease: n.adaptive_decrease,
            climb_rounds: n.adaptive_climb_rounds,
            probe_after: Duration::from_millis(n.adaptive_probe_ms),
            probe_after_max: Duration::from_millis(n.adaptive_probe_max_ms),
            ..AdaptivePolicy::new(n.concurrency_limit)
        };
        gate = gate.with_adaptive(Arc::new(AdaptiveLimit::new(
            store,
            NETSUITE_LIMIT_STATUS,
            policy,
        )));
    }
    let gate = Arc::new(gate);
    Ok(NetSuiteClient::new(NetSuiteConfig {
        base_url: (!n.base_url.is_empty()).then(|| n.base_url.clone()),
        restlet_base_url: (!n.restlet_base_url.is_empty()).then(|| n.restlet_base_url.clone()),
        timeout,
        time_zone: n.zone(),
        ..NetSuiteConfig::new(n.account_id.clone(), auth)
    })?
    .with_gate(gate))
}

/// The audit log and sync statistics, with alerts to the webhook when one is configured.
pub fn sync_log(config: &Config, secrets: &Secrets, store: Arc<dyn Store>) -> SyncLog {
    let alerts = secrets.alerts_webhook_url.clone().map(|url| {
        Alerts::start(
            url,
            Duration::from_millis(config.alerts.min_interval_ms),
            reqwest::Client::new(),
        )
    });
    SyncLog::new(store, config.audit.max_entries, alerts)
}

/// The Salesforce allocation policy, publishing the usage it sees to `statuses`.
pub fn allocation(config: &Config, statuses: Arc<dyn Store>) -> SalesforceAllocation {
    SalesforceAllocation::new(
        statuses,
        config.salesforce.batch_share,
        Duration::from_millis(config.salesforce.allocation_poll_ms),
    )
}

/// Everything one service process runs: its gRPC routes, the worker on its queue, its
/// schedules, and any task it keeps going while it serves.
pub struct ServiceParts {
    routes: ServiceRoutes,
    worker: Worker,
    scheduler: Scheduler,
    companion: Option<BoxFuture<'static, ()>>,
}

impl ServiceParts {
    fn new(routes: ServiceRoutes, worker: Worker, scheduler: Scheduler) -> Self {
        Self {
            routes,
            worker,
            scheduler,
            companion: None,
        }
    }

    /// Runs `task` (which never ends by itself) for as long as the service serves.
    fn with_companion(mut self, task: BoxFuture<'static, ()>) -> Self {
        self.companion = Some(task);
        self
    }

    /// Serves gRPC, admitting calls by `security` (see [`grpc::server_security`]), runs the
    /// worker and the schedules until `shutdown`; the worker finishes the jobs it holds before
    /// this returns.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        security: isthmus_grpc::ServerSecurity,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let serve = isthmus_grpc::serve(
            listener,
            self.routes,
            security,
            shutdown.clone().cancelled_owned(),
        );
        let companion = self.companion;
        let serve = async move {
            match companion {
                // The companion never ends: serving ends the pair.
                Some(companion) => tokio::select! {
                    served = serve => served,
                    () = companion => Ok(()),
                },
                None => serve.await,
            }
        };
        serve_and_work(self.worker, self.scheduler, serve, shutdown).await
    }
}

/// Serves a service process's Prometheus `/metrics` on `listener` (every metric of the process,
/// with its queue's gauges read from Redis at each scrape) until the process ends.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    queue: &'static str,
) {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let store = store.clone();
            async move {
                isthmus_engine::observe::refresh_gauges(&store, &[queue]).await;
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    isthmus_telemetry::metrics::render(),
                )
            }
        }),
    );
    tracing::info!(addr = ?listener.local_addr().ok(), "metrics listening");
    if let Err(err) = axum::serve(listener, app).await {
        tracing::error!(%err, "the metrics server stopped");
    }
}

/// How long a scheduled job holds its lock between renewals (renewed every third of it).
const SCHEDULE_LOCK_TTL: Duration = Duration::from_secs(60);

/// A scheduler of one service's jobs, with its locks and last runs in `store`; a held run
/// publishes the hold for `queue.hold_pause_ms`, as a held job does.
pub fn scheduler(config: &Config, store: &Arc<dyn Store>) -> Scheduler {
    Scheduler::new(store.clone(), store.clone(), SCHEDULE_LOCK_TTL)
        .with_hold_pause(config.queue.retry_policy().hold_pause)
}

/// Adds the job `name` run at each firing of `expression` (`schedules.<key>`), when it is set.
pub fn schedule<F, Fut>(
    scheduler: Scheduler,
    name: &str,
    expression: &str,
    run: F,
) -> anyhow::Result<Scheduler>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = isthmus_engine::Result<()>> + Send + 'static,
{
    match SchedulesConfig::parse(expression)? {
        None => Ok(scheduler),
        Some(schedule) => Ok(scheduler.job(name, schedule, move |_firing| run())?),
    }
}

/// The shared gRPC services of a service whose flows `reconciler` reconciles and whose jobs are
/// `jobs`, with its scheduled reconciliation (`schedules.reconcile`) added to `scheduler`.
pub fn shared_services(
    config: &Config,
    reconciler: Arc<dyn Reconciler>,
    store: &Arc<dyn Store>,
    jobs: Jobs,
    scheduler: Scheduler,
    log: SyncLog,
) -> anyhow::Result<(Shared, Scheduler)> {
    let job_ttl = Duration::from_secs(config.queue.job_ttl_s);
    let mut scheduler = scheduler;
    for flow in reconciler.flows() {
        let (reconciler, store) = (reconciler.clone(), store.clone());
        scheduler = schedule(
            scheduler,
            &format!("{}.reconcile", flow.as_str()),
            &config.schedules.reconcile,
            move || {
                let (reconciler, store) = (reconciler.clone(), store.clone());
                async move {
                    let options = ReconcileOptions::default();
                    let report = reconcile::run_and_keep(
                        reconciler.as_ref(),
                        store.as_ref(),
                        flow,
                        &options,
                    )
                    .await?;
                    tracing::info!(
                        flow = flow.as_str(),
                        drifts = report.total(),
                        links = report.links_checked,
                        "scheduled reconciliation done"
                    );
                    Ok(())
                }
            },
        )?;
    }
    let shared = Shared {
        jobs: JobQueueService::new(jobs, store.clone(), job_ttl, config.audit.max_entries),
        reconcile: ReconcileService::new(reconciler, store.clone()).with_log(log),
    };
    Ok((shared, scheduler))
}

/// The dispatcher and the worker of one service's jobs (`jobs`: the service's own queue and
/// its job records). The safety net of a sync past its deadline comes due once the record's
/// lock lease (`lock_ttl`) has surely run out.
pub fn queue_runners(
    config: &Config,
    runner: Arc<dyn JobRunner>,
    jobs: Jobs,
    log: SyncLog,
    lock_ttl: Duration,
) -> (Dispatcher, Worker) {
    let q = &config.queue;
    let job_ttl = Duration::from_secs(q.job_ttl_s);
    let dispatcher = Dispatcher::new(
        runner.clone(),
        jobs.clone(),
        log.clone(),
        q.retry_policy(),
        Duration::from_millis(q.sync_wait_ms),
        job_ttl,
        lock_ttl + Duration::from_secs(5),
    );
    let worker = Worker::new(
        runner,
        jobs,
        log,
        q.retry_policy(),
        q.worker_concurrency,
        job_ttl,
        Duration::from_millis(q.reclaim_idle_ms),
    );
    (dispatcher, worker)
}

/// Runs a service's worker and its schedules while `serve` serves; when serving ends
/// (shutdown or failure) both are told to stop and the worker finishes the jobs it holds
/// before this returns.
pub async fn serve_and_work<E>(
    worker: Worker,
    scheduler: Scheduler,
    serve: impl std::future::Future<Output = Result<(), E>>,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let worker = tokio::spawn(worker.run(shutdown.clone()));
    let schedules = tokio::spawn(scheduler.run(shutdown.clone()));
    let served = serve.await;
    shutdown.cancel();
    worker.await?;
    schedules.await?;
    Ok(served?)
}

pub fn gateway_settings(config: &Config) -> GatewaySettings {
    GatewaySettings {
        max_body_bytes: config.gateway.max_body_bytes,
        sync_deadline: Duration::from_millis(config.gateway.sync_deadline_ms),
        idempotency_ttl: Duration::from_secs(config.gateway.idempotency_ttl_s),
        netsuite_concurrency_limit: config.netsuite.concurrency_limit,
        netsuite_adaptive_concurrency: config.netsuite.adaptive_concurrency,
        links: isthmus_gateway::DeepLinks::new(
            if config.gateway.salesforce_app_url.is_empty() {
                &config.salesforce.login_url
            } else {
                &config.gateway.salesforce_app_url
            },
            &if config.gateway.netsuite_app_url.is_empty() {
                isthmus_gateway::deep_links::netsuite_app_url(&config.netsuite.account_id)
            } else {
                config.gateway.netsuite_app_url.clone()
            },
        ),
        limits: gateway_limits(config),
        serve: gateway_serve(config),
    }
}

/// The per-request limits of `[gateway]`.
fn gateway_limits(config: &Config) -> isthmus_gateway::LimitSettings {
    use isthmus_gateway::{RateLimit, Scope};
    let g = &config.gateway;
    let rate = |limit: isthmus_engine::config::RateLimit| RateLimit {
        rate: limit.rate,
        burst: limit.burst,
    };
    isthmus_gateway::LimitSettings {
        body_read_timeout: Duration::from_millis(g.body_read_timeout_ms),
        request_timeout: Duration::from_millis(g.request_timeout_ms),
        max_in_flight: g.max_in_flight,
        max_uri_bytes: g.max_uri_bytes,
        rate_limits: vec![
            (Scope::Salesforce, rate(g.rate_limits.salesforce)),
            (Scope::NetSuite, rate(g.rate_limits.netsuite)),
            (Scope::Viewer, rate(g.rate_limits.viewer)),
            (Scope::Admin, rate(g.rate_limits.admin)),
        ],
        salesforce_key_share: g.salesforce_key_share,
        salesforce_daily_allocation: g.salesforce_daily_allocation,
        allocation_retry_after: Duration::from_millis(config.queue.hold_pause_ms.max(1)),
    }
}

/// The connection limits and TLS of the gateway's listeners.
fn gateway_serve(config: &Config) -> isthmus_gateway::ServeSettings {
    let g = &config.gateway;
    isthmus_gateway::ServeSettings {
        header_read_timeout: Duration::from_millis(g.header_read_timeout_ms),
        idle_timeout: Duration::from_millis(g.idle_timeout_ms),
        max_connections: g.max_connections,
        tls: (!g.tls_cert_file.is_empty()).then(|| isthmus_gateway::TlsFiles {
            cert: g.tls_cert_file.clone().into(),
            key: g.tls_key_file.clone().into(),
            reload_every: Duration::from_millis(g.tls_reload_ms.max(100)),
        }),
    }
}

/// The NetSuite event signing secret and window the gateway checks events with. Without a
/// secret the gateway does not start, unless `gateway.netsuite_events_unsigned` says events may
/// pass on the API key alone (`None`; the gateway warns at start). An empty secret or a zero
/// window is an error.
pub fn netsuite_event_signing(
    config: &Config,
    secrets: &Secrets,
) -> anyhow::Result<Option<isthmus_gateway::EventSigning>> {
    use secrecy::ExposeSecret;
    let Some(secret) = &secrets.netsuite_hmac_secret else {
        if config.gateway.netsuite_events_unsigned {
            return Ok(None);
        }
        bail!(
            "NetSuite events must be signed: set ISTHMUS_GATEWAY__NETSUITE_HMAC_SECRET or \
             gateway.netsuite_hmac_secret_file (the NetSuite API Secret the User Event script \
             signs with), or set gateway.netsuite_events_unsigned = true to accept unsigned \
             events on the API key alone"
        );
    };
    let window = Duration::from_secs(config.gateway.netsuite_hmac_window_s);
    Ok(Some(
        isthmus_gateway::EventSigning::new(secret.expose_secret(), window)?
            .accepting_v1(config.gateway.netsuite_hmac_accept_v1),
    ))
}

/// API keys from the `gateway.api_keys` secret; none configured is an error outside dev.
pub fn api_keys(secrets: &Secrets) -> anyhow::Result<ApiKeys> {
    use secrecy::ExposeSecret;
    let Some(spec) = &secrets.gateway_api_keys else {
        bail!("no API keys: set ISTHMUS_GATEWAY__API_KEYS or gateway.api_keys_file");
    };
    Ok(ApiKeys::parse(spec.expose_secret())?)
}

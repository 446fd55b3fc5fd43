//! Name resolution through configured DNS servers (`gateway.dns_servers`).
//!
//! The static binary's libc resolver reads `/etc/resolv.conf`, which Android does not have, so on
//! the handheld the gateway's host name would not resolve. With servers configured, the client
//! asks them directly instead.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A resolver asking the given servers (UDP, falling back to TCP) and nothing else.
pub struct ConfiguredDns {
    resolver: Arc<TokioResolver>,
}

impl ConfiguredDns {
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> ConfiguredDns {
        let mut group = NameServerConfigGroup::new();
        for server in servers {
            group.merge(NameServerConfigGroup::from_ips_clear(
                &[server.ip()],
                server.port(),
                true,
            ));
        }
        let mut options = ResolverOpts::default();
        options.timeout = timeout;
        options.attempts = 2;
        let resolver = TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, Vec::new(), group),
            TokioConnectionProvider::default(),
        )
        .with_options(options)
        .build();
        ConfiguredDns {
            resolver: Arc::new(resolver),
        }
    }
}

impl Resolve for ConfiguredDns {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.resolver.clone();
        Box::pin(async move {
            let found = resolver.lookup_ip(name.as_str()).await?;
            let addrs: Addrs = Box::new(
                found
                    .iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}

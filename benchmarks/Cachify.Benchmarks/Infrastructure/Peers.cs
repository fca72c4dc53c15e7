using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>The caches Cachify is compared with, built the way their documentation shows.</summary>
public static class Peers
{
    /// <summary>Longer than any benchmark process lives, so a warmed entry stays a hit.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(30);

    public static MemoryCache NewMemoryCache() => new(new MemoryCacheOptions());

    public static FusionCache NewFusionCache() => new(new FusionCacheOptions
    {
        DefaultEntryOptions = new FusionCacheEntryOptions { Duration = Lifetime },
    });

    /// <summary>A HybridCache from <c>services.AddHybridCache()</c>: local (L1) only, as no IDistributedCache is registered.</summary>
    public static (HybridCache Cache, ServiceProvider Services) NewHybridCache()
    {
        var services = new ServiceCollection();
        services.AddHybridCache(options => options.DefaultEntryOptions = new HybridCacheEntryOptions
        {
            Expiration = Lifetime,
            LocalCacheExpiration = Lifetime,
        });
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<HybridCache>(), provider);
    }

    /// <summary>
    /// FusionCache with Redis as its distributed (2nd level) cache, through Microsoft.Extensions.Caching.StackExchangeRedis
    /// (its own multiplexer, keys prefixed by <paramref name="instanceName"/>) and System.Text.Json. The memory level is
    /// skipped for reads and writes (<c>SkipMemoryCache</c>), so every hit is a Redis round trip: with its default
    /// options FusionCache would answer from memory and the benchmark would measure a memory hit again.
    /// Dispose the cache, then the <c>RedisCache</c>.
    /// </summary>
    public static (FusionCache Cache, RedisCache Distributed) NewFusionCacheOnRedis(string instanceName)
    {
        var distributed = new RedisCache(new RedisCacheOptions
        {
            Configuration = RedisEndpoint.Configuration,
            InstanceName = instanceName,
        });
        var cache = new FusionCache(new FusionCacheOptions
        {
            CacheName = instanceName,
            DefaultEntryOptions = new FusionCacheEntryOptions
            {
                Duration = Lifetime,
                SkipMemoryCacheRead = true,
                SkipMemoryCacheWrite = true,
            },
        });
        cache.SetupSerializer(new FusionCacheSystemTextJsonSerializer());
        cache.SetupDistributedCache(distributed);
        return (cache, distributed);
    }
}

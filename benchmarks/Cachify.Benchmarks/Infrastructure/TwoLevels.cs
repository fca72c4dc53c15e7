using CachifyNet.Distributed;
using CachifyNet.Redis;
using CachifyNet.Stores;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;
using CachifyRedisOptions = CachifyNet.Redis.RedisCacheOptions;
using FusionRedisBackplane = ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis.RedisBackplane;
using FusionRedisBackplaneOptions = ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis.RedisBackplaneOptions;
using MicrosoftRedisOptions = Microsoft.Extensions.Caching.StackExchangeRedis.RedisCacheOptions;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// The two-level contenders (a level in process memory in front of Redis), each on connections of its own, as
/// <see cref="Redis.LevelsBenchmarks"/> and the propagation tool (<see cref="CachifyNet.Benchmarks.Propagation"/>) build them. Built from
/// public APIs only: each with its local level and a backplane over Redis, as its documentation sets it up.
/// </summary>
public static class TwoLevels
{
    /// <summary>The local level's size limit used by every contender that has one: room for every key of the scenario.</summary>
    public const int LocalSizeLimit = 100_000;

    /// <summary>
    /// Cachify's Redis backend on a multiplexer of its own. Dispose the backend, then the connection.
    /// </summary>
    public static (ConnectionMultiplexer Connection, RedisCacheBackend Backend) CachifyRedis(string configuration, string prefix)
    {
        var connection = ConnectionMultiplexer.Connect(configuration);
        var backend = new RedisCacheBackend(connection, new CachifyRedisOptions
        {
            KeyPrefix = prefix,
            LocalCache = new LocalCacheOptions { SizeLimit = LocalSizeLimit }, // on by default; the size is the peers'
        });
        return (connection, backend);
    }

    /// <summary>
    /// Cachify's <see cref="CacheStoreBackend"/> over Microsoft's <see cref="RedisCache"/> (Cachify.Distributed's
    /// <see cref="DistributedCacheStore"/>), its own multiplexer. Dispose the backend, then the cache.
    /// </summary>
    public static (RedisCache Cache, CacheStoreBackend Backend) CachifyStore(string configuration, string prefix)
    {
        var cache = new RedisCache(new MicrosoftRedisOptions { Configuration = configuration });
        var backend = new CacheStoreBackend(new DistributedCacheStore(cache), new CacheStoreBackendOptions
        {
            KeyPrefix = prefix,
            LocalCache = new LocalCacheOptions { SizeLimit = LocalSizeLimit },

            // So that other processes' writes evict the local copies here at once (without it a local copy lives up to
            // LocalCacheOptions.MaxLifetime, 1 s by default). Its connection lives as long as the benchmark process.
            Backplane = new CachifyNet.Redis.RedisBackplane(ConnectionMultiplexer.Connect(configuration), new CachifyNet.Redis.RedisBackplaneOptions { Channel = prefix + ":backplane" }),
        });
        return (cache, backend);
    }

    /// <summary>
    /// FusionCache with its memory level (L1), Redis as its distributed level (Microsoft's <see cref="RedisCache"/>,
    /// System.Text.Json) and its StackExchange.Redis backplane, each on a multiplexer of its own, as its documentation
    /// sets it up. Entries live <see cref="Peers.Lifetime"/>. Dispose the cache, then the distributed cache.
    /// </summary>
    public static (FusionCache Cache, RedisCache Distributed) Fusion(string configuration, string name)
    {
        var distributed = new RedisCache(new MicrosoftRedisOptions { Configuration = configuration, InstanceName = name + ":" });
        var cache = new FusionCache(new FusionCacheOptions
        {
            CacheName = name,
            DefaultEntryOptions = new FusionCacheEntryOptions { Duration = Peers.Lifetime },
        });
        cache.SetupSerializer(new FusionCacheSystemTextJsonSerializer());
        cache.SetupDistributedCache(distributed);
        cache.SetupBackplane(new FusionRedisBackplane(new FusionRedisBackplaneOptions { Configuration = configuration }));
        return (cache, distributed);
    }

    /// <summary>
    /// HybridCache (<c>AddHybridCache()</c>) with Microsoft's Redis cache as its <see cref="Microsoft.Extensions.Caching.Distributed.IDistributedCache"/>
    /// (L2); HybridCache has no backplane. Entries live <see cref="Peers.Lifetime"/> in both levels. Dispose the provider.
    /// </summary>
    public static (HybridCache Cache, ServiceProvider Services) Hybrid(string configuration, string instanceName)
    {
        var services = new ServiceCollection();
        services.AddStackExchangeRedisCache(options =>
        {
            options.Configuration = configuration;
            options.InstanceName = instanceName + ":";
        });
        services.AddHybridCache(options => options.DefaultEntryOptions = new HybridCacheEntryOptions
        {
            Expiration = Peers.Lifetime,
            LocalCacheExpiration = Peers.Lifetime,
        });
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<HybridCache>(), provider);
    }
}

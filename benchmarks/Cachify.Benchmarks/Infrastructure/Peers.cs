using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

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
}

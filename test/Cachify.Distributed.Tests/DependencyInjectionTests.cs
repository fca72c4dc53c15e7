using CachifyNet.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace CachifyNet.Distributed.Tests;

public sealed class DependencyInjectionTests
{
    [Fact]
    public async Task AddCachifyDistributedCache_WrappersOfICachify_KeepEntriesInTheAppsDistributedCache()
    {
        // Two apps (containers) on one distributed cache: what one stores, the other reads. (NoSelf: the counter the
        // lambda captures is not part of what it computes.)
        var shared = new Microsoft.Extensions.Caching.Distributed.MemoryDistributedCache(
            Microsoft.Extensions.Options.Options.Create(new Microsoft.Extensions.Caching.Memory.MemoryDistributedCacheOptions()));
        await using var first = App(shared);
        await using var second = App(shared);
        var runs = 0;
        Func<int, Task<int>> square = x => Task.FromResult(x * x + (Interlocked.Increment(ref runs) - runs));

        Assert.Equal(49, await first.GetRequiredService<ICachify>().Wrap(square).Named("square").NoSelf().Invoke(7));
        Assert.Equal(49, await second.GetRequiredService<ICachify>().Wrap(square).Named("square").NoSelf().Invoke(7));

        Assert.Equal(1, runs);
        Assert.IsType<CacheStoreBackend>(second.GetRequiredService<ICacheBackend>());

        static ServiceProvider App(Microsoft.Extensions.Caching.Distributed.IDistributedCache cache)
        {
            var services = new ServiceCollection();
            services.AddSingleton(cache);
            services.AddCachifyDistributedCache(new CacheStoreBackendOptions { KeyPrefix = "di" });
            return services.BuildServiceProvider();
        }
    }

    [Fact]
    public void AddCachifyDistributedCache_WithoutADistributedCache_SaysWhatToRegister()
    {
        var services = new ServiceCollection();
        services.AddCachifyDistributedCache();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<ICacheBackend>());

        Assert.Contains("AddStackExchangeRedisCache", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddCachifyDistributedCache_InvalidOptions_ThrowAtRegistration()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentException>(() => services.AddCachifyDistributedCache(new CacheStoreBackendOptions { KeyPrefix = "" }));

        Assert.Contains("KeyPrefix", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddCachifyDistributedCache_LocalLevelAndBackplane_ReachTheBackend_AndNothingSubscribesAtRegistration()
    {
        var backplane = new InProcessBackplane();
        var local = new LocalCacheOptions { SizeLimit = 7 };
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Caching.Distributed.IDistributedCache>(new Microsoft.Extensions.Caching.Distributed.MemoryDistributedCache(
            Microsoft.Extensions.Options.Options.Create(new Microsoft.Extensions.Caching.Memory.MemoryDistributedCacheOptions())));
        services.AddCachifyDistributedCache(new CacheStoreBackendOptions { KeyPrefix = "di", LocalCache = local, Backplane = backplane });
        Assert.Equal(0, backplane.Subscribers);

        using var provider = services.BuildServiceProvider();
        var backend = Assert.IsType<CacheStoreBackend>(provider.GetRequiredService<ICacheBackend>());

        Assert.Same(local, backend.Options.LocalCache);
        Assert.Same(backplane, backend.Options.Backplane);
        Assert.Equal(1, backplane.Subscribers);
    }
}

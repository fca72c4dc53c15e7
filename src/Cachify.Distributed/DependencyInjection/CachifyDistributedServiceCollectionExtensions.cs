using CachifyNet;
using CachifyNet.Distributed;
using CachifyNet.Stores;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Cachify over the app's <see cref="IDistributedCache"/>.</summary>
public static class CachifyDistributedServiceCollectionExtensions
{
    /// <summary>
    /// Registers Cachify (<see cref="ICachify"/>) with a <see cref="CacheStoreBackend"/> over the app's
    /// <see cref="IDistributedCache"/> as its backend: wrappers made by <see cref="ICachify"/> keep their entries there.
    /// Register the distributed cache itself as usual (<c>AddStackExchangeRedisCache</c>, <c>AddDistributedSqlServerCache</c>,
    /// <c>AddSqliteCache</c>, ...).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">Key prefix, error mode and serializer; null for the defaults. The clock and logger factory
    /// come from the container when not set.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and the fix).</exception>
    public static IServiceCollection AddCachifyDistributedCache(this IServiceCollection services, CacheStoreBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        options ??= new CacheStoreBackendOptions();

        // Checked now, at registration, rather than when the first wrapper binds (without the backplane: nothing subscribes yet).
        using (new CacheStoreBackend(new DistributedCacheStore(new MemoryDistributedCacheStandIn()), With(options, options.TimeProvider, options.LoggerFactory, backplane: null)))
        {
        }

        services.AddCachify();
        services.Replace(ServiceDescriptor.Singleton<ICacheBackend>(provider =>
        {
            var cache = provider.GetService<IDistributedCache>() ?? throw new InvalidOperationException(
                "AddCachifyDistributedCache() uses the app's IDistributedCache, but none is registered. Register one first (AddStackExchangeRedisCache, AddDistributedSqlServerCache, AddSqliteCache, ...).");
            return new CacheStoreBackend(
                new DistributedCacheStore(cache),
                With(options, options.TimeProvider ?? provider.GetService<TimeProvider>(), options.LoggerFactory ?? provider.GetService<ILoggerFactory>(), options.Backplane));
        }));
        return services;
    }

    /// <summary>A copy of <paramref name="options"/> with the given clock, logging and backplane (every other option as it is).</summary>
    private static CacheStoreBackendOptions With(CacheStoreBackendOptions options, TimeProvider? time, ILoggerFactory? loggerFactory, CacheBackplane? backplane) => new()
    {
        KeyPrefix = options.KeyPrefix,
        OnError = options.OnError,
        Serializer = options.Serializer,
        LocalCache = options.LocalCache,
        LockTimeout = options.LockTimeout,
        LockWaitTimeout = options.LockWaitTimeout,
        Backplane = backplane,
        TimeProvider = time,
        LoggerFactory = loggerFactory,
    };

    /// <summary>Only there to check the options at registration; never called.</summary>
    private sealed class MemoryDistributedCacheStandIn : IDistributedCache
    {
        public byte[]? Get(string key) => null;

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Task.FromResult<byte[]?>(null);

        public void Refresh(string key)
        {
        }

        public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

        public void Remove(string key)
        {
        }

        public Task RemoveAsync(string key, CancellationToken token = default) => Task.CompletedTask;

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options)
        {
        }

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => Task.CompletedTask;
    }
}

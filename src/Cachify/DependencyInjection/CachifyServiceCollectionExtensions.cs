using CachifyNet;
using CachifyNet.DependencyInjection;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Cachify in an <see cref="IServiceCollection"/>.</summary>
public static class CachifyServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ICachify"/> with a <see cref="MemoryCacheBackend"/> over the app's
    /// <see cref="IMemoryCache"/>, <see cref="TimeProvider"/> (when registered) and <see cref="ILoggerFactory"/>.
    /// Options are validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; null keeps the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddCachify(this IServiceCollection services, Action<CachifyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMemoryCache();
        var options = services.AddOptions<CachifyOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CachifyOptions>, CachifyOptionsValidator>());
        services.TryAddSingleton<ICacheBackend>(static provider => new MemoryCacheBackend(
            provider.GetRequiredService<IMemoryCache>(),
            new MemoryCacheBackendOptions
            {
                TimeProvider = provider.GetService<TimeProvider>(),
                LoggerFactory = provider.GetService<ILoggerFactory>(),
                EntrySize = provider.GetRequiredService<IOptions<CachifyOptions>>().Value.MemoryEntrySize,
            }));
        services.TryAddSingleton(provider => new ServiceLifetimes(services, provider.GetService<ILoggerFactory>()));
        services.TryAddSingleton<ICachify, CachifyFactory>();
        return services;
    }
}

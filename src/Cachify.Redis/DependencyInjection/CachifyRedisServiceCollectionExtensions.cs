using CachifyNet;
using CachifyNet.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Cachify with the Redis backend in an <see cref="IServiceCollection"/>.</summary>
public static class CachifyRedisServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ICachify"/> (see <c>AddCachify</c>) with a <see cref="RedisCacheBackend"/> over the app's
    /// <see cref="IConnectionMultiplexer"/>, which must be registered too. The app's <see cref="TimeProvider"/> and
    /// <see cref="ILoggerFactory"/> are used unless the options set their own.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddCachifyRedis(this IServiceCollection services)
        => AddCachifyRedis(services, new RedisCacheOptions());

    /// <summary>
    /// Registers <see cref="ICachify"/> (see <c>AddCachify</c>) with a <see cref="RedisCacheBackend"/> over the app's
    /// <see cref="IConnectionMultiplexer"/>, which must be registered too.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">The Redis options, validated now.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and the fix).</exception>
    public static IServiceCollection AddCachifyRedis(this IServiceCollection services, RedisCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        RedisCacheBackend.Validate(options);
        services.AddCachify();
        services.Replace(ServiceDescriptor.Singleton<ICacheBackend>(provider =>
        {
            var backend = new RedisCacheBackend(
                provider.GetService<IConnectionMultiplexer>() ?? throw new InvalidOperationException(
                    "AddCachifyRedis(options) uses the app's IConnectionMultiplexer, but none is registered. Register one, or call AddCachifyRedis(connectionString, options)."),
                options.WithServices(provider.GetService<TimeProvider>(), provider.GetService<ILoggerFactory>()));

            // Static UseRedis() wrappers use it too, unless CachifyRedis.Configure ran; the container disposes it with the host.
            CachifyRedis.Register(backend);
            return backend;
        }));

        // At host start (ValidateOnStart), create the backend, so static UseRedis() wrappers find it even when nothing
        // resolves ICachify. A separate options type: no other service depends on it, so creating the backend here cannot cycle.
        services.AddOptions<RedisStartup>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisStartup>, RedisStartupValidator>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="ICachify"/> (see <c>AddCachify</c>) with a <see cref="RedisCacheBackend"/>, and an
    /// <see cref="IConnectionMultiplexer"/> connected to <paramref name="connectionString"/> unless the app registered one.
    /// </summary>
    /// <remarks>
    /// Unless the string sets <c>abortConnect</c>, the multiplexer is created with <c>abortConnect=false</c>: an app
    /// starts while Redis is down, its cached functions run uncached meanwhile (<see cref="RedisErrorMode.Silent"/>), and
    /// the multiplexer connects when Redis comes up. With <c>abortConnect=true</c>, resolving the multiplexer (and so
    /// <see cref="ICachify"/>) throws while Redis cannot be reached.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">A StackExchange.Redis configuration string, such as <c>"localhost:6379"</c>; parsed now.</param>
    /// <param name="options">The Redis options, validated now; null for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="connectionString"/> is null.</exception>
    /// <exception cref="ArgumentException">The connection string cannot be parsed, or an option is invalid.</exception>
    public static IServiceCollection AddCachifyRedis(this IServiceCollection services, string connectionString, RedisCacheOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connectionString);
        ConfigurationOptions configuration;
        try
        {
            configuration = ConfigurationOptions.Parse(connectionString);
        }
        catch (Exception error) when (error is ArgumentException or FormatException or NotSupportedException)
        {
            throw new ArgumentException($"The Redis connection string \"{connectionString}\" cannot be parsed: {error.Message}", nameof(connectionString), error);
        }

        // A cache must not keep an app from starting: StackExchange.Redis aborts when the first connect fails unless told not to.
        if (!SetsOption(connectionString, "abortConnect"))
        {
            configuration.AbortOnConnectFail = false;
        }

        services.TryAddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(configuration));
        return AddCachifyRedis(services, options ?? new RedisCacheOptions());
    }

    /// <summary>Whether a configuration string sets <paramref name="key"/> (comma-separated <c>key=value</c> items; keys ignore case, as StackExchange.Redis reads them).</summary>
    private static bool SetsOption(string connectionString, string key)
    {
        foreach (var item in connectionString.Split(','))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && item.AsSpan(0, equals).Trim().Equals(key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The options type whose start-up validation creates the Redis backend (it has no settings).</summary>
internal sealed class RedisStartup;

/// <summary>Creates the app's backend when the host starts, which registers it for static <c>UseRedis()</c> wrappers.</summary>
internal sealed class RedisStartupValidator(IServiceProvider provider) : IValidateOptions<RedisStartup>
{
    public ValidateOptionsResult Validate(string? name, RedisStartup options)
    {
        if (provider.GetService<ICacheBackend>() is RedisCacheBackend backend)
        {
            CachifyRedis.Register(backend);
        }

        return ValidateOptionsResult.Skip;
    }
}

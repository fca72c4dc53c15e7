using System.Collections.Concurrent;
using CachifyNet.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CachifyNet.DependencyInjection;

/// <summary>
/// Tells wrappers made through <see cref="ICachify"/> when their target is a per-request object: an instance of a type the
/// container registers as scoped or transient (the method's <c>this</c>, or what its lambda uses by reference). Such a
/// wrapper keeps entries per instance, so a wrapper made in a scoped service's constructor never hits in the next request.
/// One warning per function (event 1005), at its first miss: the first request, not the hundredth miss.
/// </summary>
internal sealed class ServiceLifetimes(IServiceCollection services, ILoggerFactory? loggerFactory)
{
    private readonly ILogger _logger = (loggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("Cachify");
    private readonly ConcurrentDictionary<string, bool> _warned = new(StringComparer.Ordinal);
    private Dictionary<Type, ServiceLifetime>? _lifetimes;

    /// <summary>
    /// A miss brought <paramref name="instance"/> (the wrapper's target, or an object its lambda uses): warns once per
    /// function when it is an instance of a scoped or transient service.
    /// </summary>
    public void Check(InstanceKey instance, string function)
    {
        if (_warned.ContainsKey(function) || !Lifetimes().TryGetValue(instance.Type, out var lifetime) || lifetime == ServiceLifetime.Singleton)
        {
            return;
        }

        if (_warned.TryAdd(function, true))
        {
            Log.PerRequestTarget(_logger, function, instance.TypeName, lifetime.ToString());
        }
    }

    /// <summary>The lifetime of every type the container makes (service and implementation types), read once, at the first check.</summary>
    private Dictionary<Type, ServiceLifetime> Lifetimes()
    {
        if (Volatile.Read(ref _lifetimes) is { } known)
        {
            return known;
        }

        var lifetimes = new Dictionary<Type, ServiceLifetime>();
        foreach (var descriptor in services.ToArray())
        {
            if (descriptor.IsKeyedService)
            {
                continue;
            }

            lifetimes[descriptor.ServiceType] = descriptor.Lifetime;
            if (descriptor.ImplementationType is { } implementation)
            {
                lifetimes[implementation] = descriptor.Lifetime;
            }
        }

        Volatile.Write(ref _lifetimes, lifetimes);
        return lifetimes;
    }
}

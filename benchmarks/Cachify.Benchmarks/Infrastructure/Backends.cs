using CachifyNet.Redis;
using StackExchange.Redis;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// Where the Cachify side of a benchmark keeps its entries. Every scenario in <c>Memory/</c> asks this class,
/// so the backend under test is chosen in one place.
/// </summary>
/// <remarks>
/// Redis scenarios live in <c>Redis/</c>, with class names that start with <c>Redis</c>, so <c>--filter '*Redis*'</c>
/// selects them and <c>--filter '*Hit*'</c> runs memory and Redis hits side by side. See README.md.
/// </remarks>
public static class Backends
{
    /// <summary>A fresh in-process backend over its own <see cref="Microsoft.Extensions.Caching.Memory.MemoryCache"/>.</summary>
    public static MemoryCacheBackend Memory() => new();

    /// <summary>
    /// A Redis backend on its own multiplexer, connected to the run's server (<see cref="RedisEndpoint"/>), with
    /// <paramref name="prefix"/> as key prefix so that one benchmark process never reads another's entries.
    /// Dispose the backend, then the connection.
    /// </summary>
    public static (ConnectionMultiplexer Connection, RedisCacheBackend Backend) Redis(string prefix)
    {
        var connection = ConnectionMultiplexer.Connect(RedisEndpoint.Configuration);
        return (connection, new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = prefix }));
    }
}

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// Where the Cachify side of a benchmark keeps its entries. Every scenario in <c>Memory/</c> asks this class,
/// so the backend under test is chosen in one place.
/// </summary>
/// <remarks>
/// Redis comes with the Cachify.Redis package: add a <c>Redis(...)</c> factory here (connection string from the
/// <c>CACHIFY_BENCH_REDIS</c> environment variable, pointing at a local server) and put the Redis scenarios in a
/// <c>Redis/</c> folder beside <c>Memory/</c>, with class names that start with <c>Redis</c>
/// (<c>RedisHitBenchmarks</c>, <c>RedisStampedeBenchmarks</c>, ...) so <c>--filter '*Redis*'</c> selects them
/// and <c>--filter '*Hit*'</c> still runs memory and Redis side by side. See README.md.
/// </remarks>
public static class Backends
{
    /// <summary>A fresh in-process backend over its own <see cref="Microsoft.Extensions.Caching.Memory.MemoryCache"/>.</summary>
    public static MemoryCacheBackend Memory() => new();
}

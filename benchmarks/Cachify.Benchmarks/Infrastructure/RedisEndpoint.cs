namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// Where the Redis scenarios find Redis. The host process (Program.cs) decides once per run: the server named by
/// <see cref="Variable"/> if it is set, else a private <c>redis-server</c> it starts on a free loopback port (temporary
/// directory, no persistence) and stops at the end. The benchmark processes BenchmarkDotNet starts inherit the
/// variable, so they all talk to the same server.
/// </summary>
public static class RedisEndpoint
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>.</summary>
    public const string Variable = "CACHIFY_BENCH_REDIS";

    /// <summary>The configuration string for this process; throws with the fix when the host set none.</summary>
    public static string Configuration =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured
            ? configured
            : throw new InvalidOperationException(
                $"The Redis benchmarks need a Redis server: run them through Program (which starts redis-server) or set {Variable}=host:port.");

    public static bool IsConfigured => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable));
}

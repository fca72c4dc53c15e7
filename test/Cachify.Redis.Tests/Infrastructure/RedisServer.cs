using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// Where the Redis suite runs (the tests built on <see cref="RedisServerFixture"/>). By default each test class starts
/// its own redis-server. <c>CACHIFY_REDIS_ENDPOINT=host:port</c> points the suite at a server that is already running
/// (Garnet, a managed Redis, a cluster node: every test uses its own key prefix and removes nothing else);
/// <c>CACHIFY_REDIS_CLUSTER=1</c> runs it on a local Redis Cluster of 3 primaries and 3 replicas, shared by all classes.
/// Tests that kill and restart servers always start their own.
/// </summary>
internal static class RedisRequirement
{
    /// <summary>With CI set, the Redis tests fail when redis-server is missing instead of skipping.</summary>
    public static bool Required => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>The external endpoint the suite runs against, if any.</summary>
    public static string? ExternalEndPoint => Environment.GetEnvironmentVariable("CACHIFY_REDIS_ENDPOINT") is { Length: > 0 } endPoint ? endPoint : null;

    /// <summary>Whether the suite runs on a local Redis Cluster.</summary>
    public static bool OnCluster => Environment.GetEnvironmentVariable("CACHIFY_REDIS_CLUSTER") is "1" or "true";

    /// <summary>Whether the suite's Redis is a server this machine starts (so it needs redis-server).</summary>
    public static bool Local => ExternalEndPoint is null;

    public static string? SkipReason => Local && !RedisServer.Available && !Required
        ? "redis-server is not installed (apt-get install -y redis-server); with CI set this test fails instead."
        : null;

    /// <summary>The cluster of <see cref="OnCluster"/>, started once for the whole test run, stopped when it exits.</summary>
    public static LocalRedisCluster SharedCluster => LazyCluster.Value;

    private static readonly Lazy<LocalRedisCluster> LazyCluster = new(() =>
    {
        var cluster = new LocalRedisCluster();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Dispose();
        return cluster;
    });
}

/// <summary>
/// A test that needs redis-server: skipped when it is missing, unless the CI environment variable is set, in
/// which case it runs and fails (CI must install redis-server).
/// </summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        Skip = RedisRequirement.SkipReason;
    }
}

/// <summary>A theory that needs redis-server, skipped or failed as <see cref="RedisFactAttribute"/> is.</summary>
public sealed class RedisTheoryAttribute : TheoryAttribute
{
    public RedisTheoryAttribute()
    {
        Skip = RedisRequirement.SkipReason;
    }
}

/// <summary>The Redis of one test class (see <see cref="RedisRequirement"/>), reached at first use (so a skipped class starts nothing).</summary>
public sealed class RedisServerFixture : IDisposable
{
    private readonly Lazy<RedisServer?> _server = new(() => RedisRequirement.Local && !RedisRequirement.OnCluster ? new RedisServer() : null);
    private readonly Lazy<ConnectionMultiplexer> _connection;

    public RedisServerFixture()
    {
        _connection = new Lazy<ConnectionMultiplexer>(Connect);
    }

    /// <summary>The endpoint(s) to connect to, as a StackExchange.Redis configuration string.</summary>
    public string EndPoint => RedisRequirement.ExternalEndPoint
        ?? (RedisRequirement.OnCluster ? RedisRequirement.SharedCluster.EndPoints : _server.Value!.EndPoint);

    /// <summary>A new multiplexer to the suite's Redis (short timeouts, fast reconnects).</summary>
    public ConnectionMultiplexer Connect() => RedisServer.Connect(EndPoint);

    /// <summary>A multiplexer shared by the class's tests (the "process" of most tests).</summary>
    public ConnectionMultiplexer Connection => _connection.Value;

    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value.Dispose();
        }

        if (_server.IsValueCreated)
        {
            _server.Value?.Dispose();
        }
    }
}

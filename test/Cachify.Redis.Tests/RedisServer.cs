using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>Whether the Redis tests must run: with CI set they fail when redis-server is missing, instead of skipping.</summary>
internal static class RedisRequirement
{
    public static bool Required => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));
}

/// <summary>
/// A test that needs redis-server: skipped when it is missing, unless the CI environment variable is set, in
/// which case it runs and fails (CI must install redis-server).
/// </summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (!RedisServer.Available && !RedisRequirement.Required)
        {
            Skip = "redis-server is not installed (apt-get install -y redis-server); with CI set this test fails instead.";
        }
    }
}

/// <summary>A theory that needs redis-server, skipped or failed as <see cref="RedisFactAttribute"/> is.</summary>
public sealed class RedisTheoryAttribute : TheoryAttribute
{
    public RedisTheoryAttribute()
    {
        if (!RedisServer.Available && !RedisRequirement.Required)
        {
            Skip = "redis-server is not installed (apt-get install -y redis-server); with CI set this test fails instead.";
        }
    }
}

/// <summary>One redis-server per test class, started at first use (so a skipped class starts nothing).</summary>
public sealed class RedisServerFixture : IDisposable
{
    private readonly Lazy<RedisServer> _server = new(() => new RedisServer());
    private readonly Lazy<ConnectionMultiplexer> _connection;

    public RedisServerFixture()
    {
        _connection = new Lazy<ConnectionMultiplexer>(() => _server.Value.Connect());
    }

    public RedisServer Server => _server.Value;

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
            _server.Value.Dispose();
        }
    }
}

using CachifyNet.Redis;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace CachifyNet.Demo;

/// <summary>The backend the tour runs on, chosen from the command line.</summary>
public sealed class DemoBackend : IDisposable
{
    /// <summary>Every key of the tour on Redis starts with this prefix (<c>cachify-demo:*</c>).</summary>
    public const string RedisPrefix = "cachify-demo";

    private readonly ConnectionMultiplexer? _connection;

    private DemoBackend(ICacheBackend backend, string description, ConnectionMultiplexer? connection = null)
    {
        Backend = backend;
        Description = description;
        _connection = connection;
    }

    public ICacheBackend Backend { get; }

    public string Description { get; }

    /// <summary>Names the Redis server when <c>--redis</c> gives none.</summary>
    public const string RedisVariable = "CACHIFY_DEMO_REDIS";

    /// <summary>The Redis server when neither <c>--redis &lt;connection string&gt;</c> nor <see cref="RedisVariable"/> names one.</summary>
    public const string DefaultRedis = "localhost:6379";

    /// <summary>Gets the Redis connection string of the tour (null on memory).</summary>
    public string? RedisConfiguration { get; private init; }

    /// <summary>
    /// Memory by default; <c>--redis [connection string]</c> (a StackExchange.Redis configuration string such as
    /// <c>localhost:6379</c>; else <see cref="RedisVariable"/>, else <see cref="DefaultRedis"/>) runs every section on a
    /// <see cref="RedisCacheBackend"/> instead, unchanged: each wrapper has a stable <c>Named(...)</c> identity, which
    /// Redis needs for lambdas. The tour's old keys (<c>cachify-demo:*</c>) are deleted first (SCAN, never KEYS), so it
    /// starts cold every time. The demo starts no server: when none answers, it says so and how to start one.
    /// </summary>
    /// <returns>The backend, or null when the arguments are wrong or Redis does not answer (the problem was printed).</returns>
    public static DemoBackend? Choose(string[] args, ILoggerFactory loggerFactory)
    {
        var redis = Array.IndexOf(args, "--redis");
        if (redis < 0)
        {
            var memory = new MemoryCacheBackend(new MemoryCacheBackendOptions { LoggerFactory = loggerFactory });
            return new DemoBackend(memory, "memory (in-process, MemoryCacheBackend)");
        }

        var configuration = redis + 1 < args.Length && !args[redis + 1].StartsWith("--", StringComparison.Ordinal)
            ? args[redis + 1]
            : Environment.GetEnvironmentVariable(RedisVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultRedis;
        var connection = Connect(configuration);
        if (connection is null)
        {
            return null;
        }

        var deleted = DeleteTourKeys(connection);
        var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = RedisPrefix, LoggerFactory = loggerFactory });
        var endpoints = string.Join(", ", connection.GetEndPoints().Select(endpoint => endpoint.ToString()));
        return new DemoBackend(
            backend,
            $"Redis at {endpoints} (RedisCacheBackend, keys {RedisPrefix}:*; {deleted} left over from an earlier tour deleted)",
            connection)
        {
            RedisConfiguration = configuration,
        };
    }

    /// <summary>
    /// Another backend on the tour's Redis, on a connection of its own (as another instance of the app would have),
    /// with the same key prefix; null if it cannot connect (the problem was printed).
    /// </summary>
    public DemoBackend? Peer(ILoggerFactory loggerFactory)
    {
        if (RedisConfiguration is null || Connect(RedisConfiguration) is not { } connection)
        {
            return null;
        }

        return new DemoBackend(new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = RedisPrefix, LoggerFactory = loggerFactory }), "a second RedisCacheBackend", connection);
    }

    public void Dispose()
    {
        // The backend first (it stops its refreshes and its subscription), then the connection it used.
        (Backend as IDisposable)?.Dispose();
        _connection?.Dispose();
    }

    private static ConnectionMultiplexer? Connect(string configuration)
    {
        try
        {
            return ConnectionMultiplexer.Connect(configuration);
        }
        catch (Exception error) when (error is RedisConnectionException or ArgumentException)
        {
            Console.Error.WriteLine($"No Redis answered at {configuration}: {error.Message}");
            Console.Error.WriteLine($"The demo starts no server. Start one (e.g. 'redis-server --port 6379 --save \"\" --appendonly no'), or name yours:");
            Console.Error.WriteLine($"--redis host:port, or the {RedisVariable} environment variable (default {DefaultRedis}).");
            return null;
        }
    }

    private static int DeleteTourKeys(ConnectionMultiplexer connection)
    {
        var database = connection.GetDatabase();
        var deleted = 0;
        foreach (var endpoint in connection.GetEndPoints())
        {
            var server = connection.GetServer(endpoint);
            if (server.IsReplica || !server.IsConnected)
            {
                continue;
            }

            // IServer.Keys pages with SCAN; deleting in batches of one page keeps each command small.
            foreach (var page in server.Keys(database.Database, RedisPrefix + ":*", pageSize: 500).Chunk(500))
            {
                deleted += (int)database.KeyDelete(page);
            }
        }

        return deleted;
    }
}

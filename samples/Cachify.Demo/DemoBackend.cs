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

    /// <summary>
    /// Memory by default; <c>--redis &lt;connection string&gt;</c> (a StackExchange.Redis configuration string such as
    /// <c>localhost:6379</c>) runs every section on a <see cref="RedisCacheBackend"/> instead, unchanged: each wrapper
    /// has a stable <c>Named(...)</c> identity, which Redis needs for lambdas. The tour's old keys
    /// (<c>cachify-demo:*</c>) are deleted first (SCAN, never KEYS), so it starts cold every time.
    /// </summary>
    /// <returns>The backend, or null when the arguments are wrong (the problem was printed).</returns>
    public static DemoBackend? Choose(string[] args, ILoggerFactory loggerFactory)
    {
        var redis = Array.IndexOf(args, "--redis");
        if (redis < 0)
        {
            var memory = new MemoryCacheBackend(new MemoryCacheBackendOptions { LoggerFactory = loggerFactory });
            return new DemoBackend(memory, "memory (in-process, MemoryCacheBackend)");
        }

        if (redis + 1 >= args.Length || args[redis + 1].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine("--redis needs a connection string, e.g. --redis localhost:6379");
            return null;
        }

        var configuration = args[redis + 1];
        ConnectionMultiplexer connection;
        try
        {
            connection = ConnectionMultiplexer.Connect(configuration);
        }
        catch (RedisConnectionException error)
        {
            Console.Error.WriteLine($"Could not connect to Redis at {configuration}: {error.Message}");
            return null;
        }

        var deleted = DeleteTourKeys(connection);
        var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = RedisPrefix, LoggerFactory = loggerFactory });
        var endpoints = string.Join(", ", connection.GetEndPoints().Select(endpoint => endpoint.ToString()));
        return new DemoBackend(
            backend,
            $"Redis at {endpoints} (RedisCacheBackend, keys {RedisPrefix}:*; {deleted} left over from an earlier tour deleted)",
            connection);
    }

    public void Dispose()
    {
        // The backend first (it stops its refreshes and its subscription), then the connection it used.
        (Backend as IDisposable)?.Dispose();
        _connection?.Dispose();
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

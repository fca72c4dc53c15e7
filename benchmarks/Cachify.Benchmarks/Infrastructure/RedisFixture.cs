using System.Globalization;
using CachifyNet.Redis;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// What a Redis scenario needs in one benchmark process: a Cachify Redis backend and a raw connection (one
/// multiplexer), a FusionCache with Redis as its 2nd level (its own multiplexer), all under a key prefix of this
/// process, and checks that a call really reached Redis. Disposing it deletes the process's keys (SCAN, never KEYS).
/// </summary>
public sealed class RedisFixture : IDisposable
{
    /// <summary>Cachify's value bytes start with this header (written-at, version, flags, TTL, type tag); the payload follows.</summary>
    public const int EnvelopeHeaderSize = 22;

    private readonly RedisCache _fusionDistributed;
    private readonly ConnectionMultiplexer _admin;

    public RedisFixture(string scenario)
    {
        Prefix = string.Create(CultureInfo.InvariantCulture, $"cachify-bench-{scenario}-{Environment.ProcessId}");
        (Connection, Backend) = Backends.Redis(Prefix);
        Database = Connection.GetDatabase();

        // INFO needs admin mode; a separate multiplexer keeps the measured one at its defaults.
        var adminOptions = ConfigurationOptions.Parse(RedisEndpoint.Configuration);
        adminOptions.AllowAdmin = true;
        _admin = ConnectionMultiplexer.Connect(adminOptions);
        Server = _admin.GetServer(_admin.GetEndPoints()[0]);
        (Fusion, _fusionDistributed) = Peers.NewFusionCacheOnRedis(Prefix + "-fusion:");
    }

    /// <summary>The first part of every key this process writes (Cachify's <c>KeyPrefix</c>; FusionCache's instance name starts with it).</summary>
    public string Prefix { get; }

    public ConnectionMultiplexer Connection { get; }

    public RedisCacheBackend Backend { get; }

    public IDatabase Database { get; }

    /// <summary>The server, on an admin connection of its own (SCAN, INFO, clean-up).</summary>
    public IServer Server { get; }

    public FusionCache Fusion { get; }

    /// <summary>
    /// The one Redis key Cachify wrote for the function named <paramref name="name"/> (found with SCAN, so the
    /// benchmark reads exactly the key and bytes Cachify reads, whatever the argument encoding).
    /// </summary>
    public RedisKey KeyOf(string name)
    {
        var keys = Server.Keys(Database.Database, Prefix + ":{" + name + ":*", pageSize: 500).ToArray();
        return keys.Length == 1
            ? keys[0]
            : throw new InvalidOperationException($"Expected one Redis key for {name}, found {keys.Length}: {string.Join(", ", keys)}.");
    }

    /// <summary>
    /// Throws unless <paramref name="calls"/> calls of <paramref name="call"/> sent at least
    /// <paramref name="calls"/> × <paramref name="hitsPerCall"/> commands to Redis: one round trip per hit.
    /// </summary>
    public void ExpectRoundTrips(string what, Action call, int calls = 100, int hitsPerCall = 1)
    {
        var before = CommandsProcessed();
        for (var i = 0; i < calls; i++)
        {
            call();
        }

        var sent = CommandsProcessed() - before - 1; // the first INFO counts itself
        if (sent < (long)calls * hitsPerCall)
        {
            throw new InvalidOperationException($"{what}: {calls * hitsPerCall} hits sent {sent} commands to Redis; a Redis hit must be a round trip (was it served from memory?).");
        }
    }

    public void Dispose()
    {
        Fusion.Dispose();
        _fusionDistributed.Dispose();
        Backend.Dispose();
        try
        {
            var keys = Server.Keys(Database.Database, Prefix + "*", pageSize: 500).ToArray();
            if (keys.Length > 0)
            {
                Database.KeyDelete(keys);
            }
        }
        finally
        {
            Connection.Dispose();
            _admin.Dispose();
        }
    }

    private long CommandsProcessed()
    {
        foreach (var group in Server.Info("stats"))
        {
            foreach (var (key, value) in group)
            {
                if (key == "total_commands_processed")
                {
                    return long.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }

        throw new InvalidOperationException("INFO stats has no total_commands_processed.");
    }
}

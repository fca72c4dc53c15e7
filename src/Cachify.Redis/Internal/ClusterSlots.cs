using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// On a Redis Cluster: which primary owns each hash slot, so that a call fails at once when the owner of its key's slot
/// is down instead of waiting in the multiplexer's backlog, and so that Clear scans the primaries that own slots now.
/// </summary>
/// <remarks>
/// <para>
/// Why not <c>IDatabase.IsConnected(key)</c>: on a cluster it falls back to any connected node when the slot's owner is
/// down, so it says true while one node is up; the command then goes to that node, is redirected (MOVED) to the dead
/// owner and waits in its backlog until the client timeout.
/// </para>
/// <para>
/// The map is read from a connected node (<c>CLUSTER NODES</c>, sent in a script: the multiplexer keeps the command
/// for admin connections) in the background: at first use, when the multiplexer's configuration changes, and while an
/// owner is down, at most once per <see cref="RefreshInterval"/>; a <c>HashSlotMoved</c> (a MOVED the multiplexer
/// followed) updates it at once. So once a replica has been promoted (or the old primary is back), calls go back to
/// the cache within about that interval. Until the first read, the check is the multiplexer's own.
/// </para>
/// </remarks>
internal sealed class ClusterSlots : IDisposable
{
    /// <summary>The most often the map is read again while an owner is down.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(250);

    public const int SlotCount = 16384;

    /// <summary>CLUSTER NODES, in a script: StackExchange.Redis allows the command itself on admin connections only.</summary>
    public const string NodesScript = "return redis.call('CLUSTER', 'NODES')";
    private const int Unknown = 0;
    private const int Standalone = 1;
    private const int Cluster = 2;

    private readonly IConnectionMultiplexer _connection;
    private readonly EventHandler<HashSlotMovedEventArgs> _onMoved;
    private readonly EventHandler<EndPointEventArgs> _onChanged;
    private volatile EndPoint?[]? _owners;
    private int _kind;
    private int _refreshing;
    private int _dirty;
    private long _lastRefresh;

    public ClusterSlots(IConnectionMultiplexer connection)
    {
        _connection = connection;
        _onMoved = (_, e) => Moved(e.HashSlot, e.NewEndPoint);
        _onChanged = (_, _) => RequestRefresh(throttle: false);
        connection.HashSlotMoved += _onMoved;
        connection.ConfigurationChanged += _onChanged;
    }

    /// <summary>Whether the multiplexer is connected to a Redis Cluster (false until it has reached a server).</summary>
    public bool IsCluster
    {
        get
        {
            var kind = Volatile.Read(ref _kind);
            if (kind == Unknown)
            {
                kind = Detect();
            }

            return kind == Cluster;
        }
    }

    /// <summary>
    /// On a cluster: null when the primary owning the slot of <paramref name="key"/> is connected (or not known yet),
    /// otherwise why not, and the map is read again. Not on a cluster: null.
    /// </summary>
    public string? Unreachable(in RedisKey key)
    {
        if (!IsCluster)
        {
            return null;
        }

        if (_owners is not { } owners)
        {
            RequestRefresh(throttle: true);
            return null;
        }

        var slot = _connection.HashSlot(key);
        var owner = owners[slot];
        if (owner is null)
        {
            RequestRefresh(throttle: true);
            return $"no primary owns hash slot {slot}";
        }

        if (!Connected(owner))
        {
            RequestRefresh(throttle: true);
            return $"the primary owning hash slot {slot} ({owner}) is not connected";
        }

        return null;
    }

    /// <summary>The server the multiplexer holds for <paramref name="endPoint"/>, or null if it does not know it.</summary>
    public IServer? Server(EndPoint endPoint)
    {
        try
        {
            return _connection.GetServer(endPoint);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _connection.HashSlotMoved -= _onMoved;
        _connection.ConfigurationChanged -= _onChanged;
    }

    private bool Connected(EndPoint endPoint) => Server(endPoint)?.IsConnected == true;

    private int Detect()
    {
        foreach (var server in _connection.GetServers())
        {
            if (server.IsConnected)
            {
                var kind = server.ServerType == ServerType.Cluster ? Cluster : Standalone;
                Volatile.Write(ref _kind, kind);
                return kind;
            }
        }

        return Unknown;
    }

    private void Moved(int slot, EndPoint newOwner)
    {
        if (_owners is { } owners && slot is >= 0 and < SlotCount)
        {
            owners[slot] = newOwner;
        }
    }

    /// <summary>Reads the map again in the background (throttled: at most once per <see cref="RefreshInterval"/>); one read at a time.</summary>
    private void RequestRefresh(bool throttle)
    {
        if (throttle && Environment.TickCount64 - Interlocked.Read(ref _lastRefresh) < (long)RefreshInterval.TotalMilliseconds)
        {
            return;
        }

        Volatile.Write(ref _dirty, 1);
        if (Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
        {
            _ = RefreshAsync();
        }
    }

    private async Task RefreshAsync()
    {
        try
        {
            while (Interlocked.Exchange(ref _dirty, 0) == 1)
            {
                Interlocked.Exchange(ref _lastRefresh, Environment.TickCount64);
                var probe = Array.Find(_connection.GetServers(), static server => server.IsConnected && server.ServerType == ServerType.Cluster && !server.IsReplica)
                    ?? Array.Find(_connection.GetServers(), static server => server.IsConnected && server.ServerType == ServerType.Cluster);
                if (probe is null)
                {
                    continue;
                }

                var owners = Parse((string?)await probe.ExecuteAsync("EVAL", NodesScript, 0).ConfigureAwait(false));
                _owners = owners;
                if (owners.Any(owner => owner is not null && Server(owner) is null))
                {
                    // A primary the multiplexer does not know yet (a new node): let it discover the topology.
                    await _connection.ConfigureAsync().ConfigureAwait(false);
                }
            }
        }
        catch (Exception error) when (error is RedisException or InvalidOperationException or TimeoutException or FormatException)
        {
            // The next check of a down owner reads again.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>The owner of every slot in a <c>CLUSTER NODES</c> reply: primaries not marked failed (a failed one owns nothing usable).</summary>
    internal static EndPoint?[] Parse(string? nodes)
    {
        var owners = new EndPoint?[SlotCount];
        foreach (var line in (nodes ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // <id> <ip:port@cport[,hostname]> <flags> <primary> <ping-sent> <pong-recv> <epoch> <link> <slot> <slot> ...
            var fields = line.Split(' ');
            if (fields.Length < 9 || !fields[2].Contains("master", StringComparison.Ordinal) || fields[2].Split(',').Contains("fail"))
            {
                continue;
            }

            var address = fields[1].Split('@')[0];
            var colon = address.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                continue;
            }

            var host = address[..colon];
            EndPoint endPoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
            for (var i = 8; i < fields.Length; i++)
            {
                if (fields[i].StartsWith('['))
                {
                    continue; // a slot being migrated or imported
                }

                var dash = fields[i].IndexOf('-', StringComparison.Ordinal);
                var from = int.Parse(dash < 0 ? fields[i] : fields[i][..dash], CultureInfo.InvariantCulture);
                var to = dash < 0 ? from : int.Parse(fields[i][(dash + 1)..], CultureInfo.InvariantCulture);
                for (var slot = Math.Max(from, 0); slot <= Math.Min(to, SlotCount - 1); slot++)
                {
                    owners[slot] = endPoint;
                }
            }
        }

        return owners;
    }
}

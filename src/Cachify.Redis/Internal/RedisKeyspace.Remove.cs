using CachifyNet.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Invalidate and Clear. Invalidate removes the value and the lock in one script, so an execution running in any
/// process finds its lock gone and stores nothing. Clear scans every primary for this function's keys
/// (<c>SCAN MATCH</c>, never <c>KEYS</c>; on a cluster, the primaries that own slots now) and unlinks them in
/// batches, in two passes: locks first, then values and wait markers. The primaries are scanned concurrently, and a
/// page's batches (one per hash slot on a cluster) are sent at once (<see cref="IRedisIo.ExecuteAll"/>). A failed Invalidate or
/// Clear throws in both error modes (<see cref="RedisContext.RemovalFailed"/>). Both are written once for the two call
/// forms (<see cref="IRedisIo"/>).
/// </summary>
/// <remarks>
/// Why two passes: an owner stores only while its lock still holds its token (<see cref="RedisScripts.Commit"/>), and
/// SCAN returns every key that exists for the whole scan, but may miss a key written during it. Take an execution that
/// holds its lock when a Clear begins. If it commits before the first pass has deleted its lock, its value exists
/// before the second pass begins, so the second pass removes it. If it commits later, its lock is gone and it stores
/// nothing. In one pass, a commit landing after the scan went past the value's place left that value behind. Locks
/// taken during the Clear belong to executions that began after it; the second pass leaves them alone.
/// </remarks>
internal sealed partial class RedisKeyspace<TKey, TValue>
{
    private const int ScanPageSize = 1000;

    /// <summary>
    /// Tests: runs after each SCAN page of a Clear, before the page's keys are unlinked; the argument is true in the
    /// first pass (locks). Lets a test land another process's commit at a chosen point of a Clear.
    /// </summary>
    internal Action<bool>? ClearPageScanned { get; set; }

    public override void Remove(in TKey key) => SyncRedisIo.Result(Remove<SyncRedisIo>(key, CancellationToken.None));

    public override ValueTask RemoveAsync(TKey key, CancellationToken cancellationToken) => Remove<AsyncRedisIo>(key, cancellationToken);

    public override void Clear() => SyncRedisIo.Result(Clear<SyncRedisIo>(CancellationToken.None));

    public override ValueTask ClearAsync(CancellationToken cancellationToken) => Clear<AsyncRedisIo>(cancellationToken);

    /// <summary>Invalidate: this process's execution of the key stores nothing, its never-die registration goes, then the entry and its lock go in Redis.</summary>
    private async ValueTask Remove<TIo>(TKey key, CancellationToken cancellationToken)
        where TIo : struct, IRedisIo
    {
        Services.ThrowIfDisposed();
        Locks.Doom(key);
        _neverDie.Drop(in key);
        var entry = Entry(in key);
        try
        {
            _redis.Ready(entry.Value);
            await TIo.ScriptEvaluate(_redis.Database, RedisScripts.Invalidate, entry.All, [_redis.ChannelName, entry.Text], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            _local?.Evict(in key, entry.Text);
            throw _redis.RemovalFailed(_tags, _displayName, "invalidate", error);
        }

        // After the removal, so that no copy read before it lands after; then the other processes drop theirs.
        if (_local is { } local)
        {
            local.Evict(in key, entry.Text);
            await PublishRemoval<TIo>(local.Hub, entry.Text, cleared: false, "invalidate").ConfigureAwait(false);
        }
    }

    /// <summary>Clear: the local part (<see cref="ForgetAll"/>), then every primary's locks, then every primary's values and markers (see the remarks on this class).</summary>
    private async ValueTask Clear<TIo>(CancellationToken cancellationToken)
        where TIo : struct, IRedisIo
    {
        Services.ThrowIfDisposed();
        ForgetAll();
        try
        {
            var servers = _redis.Connection.GetServers();
            var probe = ClusterProbe(servers);
            var nodes = probe is null ? null : (string?)await TIo.Execute(probe, "EVAL", [ClusterSlots.NodesScript, 0]).ConfigureAwait(false);
            var primaries = Primaries(servers, probe, nodes);
            await ScanAndUnlink<TIo>(primaries, locks: true, cancellationToken).ConfigureAwait(false);
            await ScanAndUnlink<TIo>(primaries, locks: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            _local?.Clear();
            throw _redis.RemovalFailed(_tags, _displayName, "clear", error);
        }

        if (_local is { } local)
        {
            local.Clear();
            await PublishRemoval<TIo>(local.Hub, _valuePrefix, cleared: true, "clear").ConfigureAwait(false);
        }
    }

    /// <summary>Tells the other processes of an Invalidate or Clear; a notice that could not be sent fails the call, as a failed removal does.</summary>
    private async ValueTask PublishRemoval<TIo>(LocalHub hub, string text, bool cleared, string operation)
        where TIo : struct, IRedisIo
    {
        try
        {
            await hub.Publish(text, cleared, TIo.IsAsync).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            throw _redis.RemovalFailed(_tags, _displayName, operation, error);
        }
    }

    /// <summary>
    /// One pass of Clear over every primary, in lockstep: a round of one SCAN page from each primary, then a round of
    /// every UNLINK of those pages (one per hash slot on a cluster); see <see cref="IRedisIo.ExecuteAll"/>.
    /// </summary>
    private async ValueTask ScanAndUnlink<TIo>(List<IServer> primaries, bool locks, CancellationToken cancellationToken)
        where TIo : struct, IRedisIo
    {
        var cursors = Enumerable.Repeat((RedisValue)0, primaries.Count).ToArray();
        var pending = Enumerable.Range(0, primaries.Count).ToList();
        var pattern = locks ? _lockScanPattern : _scanPattern;
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var scans = await TIo.ExecuteAll(pending.ConvertAll(i => new ServerCommand(primaries[i], "SCAN", [cursors[i], "MATCH", pattern, "COUNT", ScanPageSize]))).ConfigureAwait(false);
            var unlinks = new List<ServerCommand>();
            for (var n = 0; n < scans.Length; n++)
            {
                var i = pending[n];
                var reply = (RedisResult[])scans[n]!;
                cursors[i] = (RedisValue)reply[0];
                ClearPageScanned?.Invoke(locks);
                Unlinks(primaries[i], PassKeys((RedisKey[])reply[1]!, locks), unlinks);
            }

            await TIo.ExecuteAll(unlinks).ConfigureAwait(false);
            pending.RemoveAll(i => cursors[i] == 0);
        }
    }

    /// <summary>The UNLINKs of one page's keys on one server: one command, or on a cluster one per hash slot (a command may touch one slot only).</summary>
    private void Unlinks(IServer server, RedisKey[] keys, List<ServerCommand> commands)
    {
        if (keys.Length == 0)
        {
            return;
        }

        if (server.ServerType != ServerType.Cluster)
        {
            commands.Add(new ServerCommand(server, "UNLINK", Array.ConvertAll(keys, static key => (object)key)));
            return;
        }

        foreach (var slot in keys.GroupBy(_redis.Connection.HashSlot))
        {
            commands.Add(new ServerCommand(server, "UNLINK", slot.Select(static key => (object)key).ToArray()));
        }
    }

    /// <summary>The keys of a page this pass removes: the second pass skips locks (taken after the first pass, by executions that began during the Clear).</summary>
    private RedisKey[] PassKeys(RedisKey[] keys, bool locks)
    {
        if (locks || keys.Length == 0)
        {
            return keys;
        }

        return Array.FindAll(keys, key => !((string)key!).StartsWith(_lockPrefix, StringComparison.Ordinal));
    }

    /// <summary>The backend was disposed: forget local state; entries in Redis stay for the other processes.</summary>
    public override void OnBackendDisposed() => ForgetAll();

    /// <summary>Local part of Clear (and of disposal): running executions store nothing, never-die registrations go.</summary>
    private void ForgetAll()
    {
        NextGeneration();
        Locks.DoomAll();
        _neverDie.ForgetAll();
    }

    /// <summary>Removes a value written while a Clear ran (the Clear's SCAN may have missed it).</summary>
    private async ValueTask Unlink<TIo>(EntryKeys entry)
        where TIo : struct, IRedisIo
    {
        try
        {
            _redis.Ready(entry.Value);
            await TIo.KeyDelete(_redis.Database, entry.Value).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            _redis.BackgroundFailed(_tags, _displayName, "clear", error);
        }
    }

    /// <summary>A connected node of a cluster, to ask which primaries own slots; null when not on a cluster.</summary>
    private static IServer? ClusterProbe(IServer[] servers)
        => Array.Find(servers, static server => server.IsConnected && server.ServerType == ServerType.Cluster);

    /// <summary>
    /// The servers to scan. Not a cluster (<paramref name="probe"/> null): every primary the multiplexer knows. A
    /// cluster: the primaries that own hash slots now, as the connected node <paramref name="probe"/> reports them
    /// (<paramref name="nodes"/>, its CLUSTER NODES): a dead primary whose slots went to its promoted replica owns none
    /// and is skipped. Fails when a slot has no working owner or its owner is not connected, since the Clear would then
    /// leave that slot's entries behind.
    /// </summary>
    private List<IServer> Primaries(IServer[] servers, IServer? probe, string? nodes)
    {
        var primaries = new List<IServer>();
        if (probe is null)
        {
            foreach (var server in servers)
            {
                if (!server.IsReplica)
                {
                    primaries.Add(Connected(server, "Redis server"));
                }
            }

            return primaries;
        }

        var owners = ClusterSlots.Parse(nodes);
        var covered = owners.Count(static owner => owner is not null);
        if (covered < ClusterSlots.SlotCount)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis Cluster: {ClusterSlots.SlotCount - covered} hash slots have no working primary (as node {probe.EndPoint} reports).", null, CommandStatus.Unknown);
        }

        foreach (var endPoint in owners.OfType<System.Net.EndPoint>().Distinct())
        {
            var server = _redis.Slots.Server(endPoint)
                ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"Redis Cluster primary {endPoint} owns hash slots but the multiplexer does not know it yet.", null, CommandStatus.Unknown);
            primaries.Add(Connected(server, "Redis Cluster primary"));
        }

        return primaries;
    }

    private static IServer Connected(IServer server, string what)
        => server.IsConnected
            ? server
            : throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, $"{what} {server.EndPoint} is not connected.", null, CommandStatus.Unknown);
}

using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// A local Redis Cluster of 3 primaries and 3 replicas: six redis-servers with <c>--cluster-enabled yes</c> on free
/// loopback ports (each in its own temporary directory, which keeps its <c>nodes.conf</c> across a restart), joined by
/// <c>redis-cli --cluster create ... --cluster-replicas 1</c>. A node may be killed (SIGKILL) and started again on its
/// port: it rejoins the cluster, as a replica if its replica was promoted meanwhile.
/// </summary>
internal sealed class LocalRedisCluster : IDisposable
{
    /// <summary>How long a node may be unreachable before the cluster fails it over (<c>cluster-node-timeout</c>).</summary>
    public static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    private readonly List<RedisServer> _nodes = [];

    /// <summary>Starts the six nodes, creates the cluster and waits until every node reports <c>cluster_state:ok</c>.</summary>
    /// <exception cref="InvalidOperationException">redis-server or redis-cli is missing, or the cluster did not form.</exception>
    public LocalRedisCluster()
    {
        var cli = Cli;
        try
        {
            for (var i = 0; i < 6; i++)
            {
                _nodes.Add(new RedisServer("cachify-cluster-",
                [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", ((int)NodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                ]));
            }

            var (code, output) = Run(cli, ["--cluster", "create", .. _nodes.Select(n => n.EndPoint), "--cluster-replicas", "1", "--cluster-yes"]);
            if (code != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed ({code}): {output}");
            }

            WaitHealthy();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Whether redis-server and redis-cli are installed.</summary>
    public static bool Available => RedisServer.Available && RedisServer.CliPath is not null;

    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>Every node's endpoint, comma-separated (a StackExchange.Redis configuration string).</summary>
    public string EndPoints => string.Join(",", _nodes.Select(n => n.EndPoint));

    private static string Cli => RedisServer.CliPath
        ?? throw new InvalidOperationException("redis-cli was not found next to redis-server. Install it with 'apt-get install -y redis-server' (it ships redis-cli).");

    /// <summary>
    /// A multiplexer that knows every node, with the options of <see cref="RedisServer.Connect()"/>, once it is connected
    /// to every running node (it returns before that: calls made meanwhile would run without the cache).
    /// </summary>
    public ConnectionMultiplexer Connect()
    {
        var connection = RedisServer.Connect(EndPoints);
        var running = _nodes.Count(n => n.IsRunning);
        Bounded.Until(() => connection.GetServers().Count(s => s.IsConnected) >= running, "the multiplexer connected to every running node: " + string.Join(", ", connection.GetServers().Select(s => $"{s.EndPoint} {s.IsConnected} {s.ServerType}")), TimeSpan.FromSeconds(5));
        return connection;
    }

    /// <summary>The node that the first running node sees as the working primary of <paramref name="slot"/>, if any.</summary>
    public RedisServer? PrimaryOf(int slot)
    {
        var reporter = _nodes.FirstOrDefault(n => n.IsRunning) ?? throw new InvalidOperationException("No node of the cluster is running.");
        foreach (var line in Command(reporter, "CLUSTER", "NODES").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length < 9 || !fields[2].Contains("master", StringComparison.Ordinal) || fields[2].Contains("fail", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var range in fields.Skip(8).Where(f => !f.StartsWith('[')))
            {
                var bounds = range.Split('-');
                var from = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                var to = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : from;
                if (slot >= from && slot <= to)
                {
                    var port = fields[1].Split('@')[0].Split(':')[1];
                    return _nodes.Single(n => n.Port.ToString(CultureInfo.InvariantCulture) == port);
                }
            }
        }

        return null;
    }

    /// <summary>CLUSTER NODES as the first running node sees it (for failure messages).</summary>
    public string Describe() => _nodes.FirstOrDefault(n => n.IsRunning) is { } node ? Command(node, "CLUSTER", "NODES") : "no node running";

    /// <summary>
    /// Waits (at most 60 s) until every running node reports <c>cluster_state:ok</c>, sees every other running node
    /// as connected, and every replica has synced with its primary: after a failover, a restart, or the creation.
    /// </summary>
    public void WaitHealthy()
    {
        Bounded.Until(() => _nodes.Where(n => n.IsRunning).All(Healthy), "every running cluster node reports cluster_state:ok", TimeSpan.FromSeconds(60));
    }

    /// <summary>Whether <paramref name="node"/> reports <c>cluster_state:ok</c> and no running node as failing.</summary>
    private bool Healthy(RedisServer node)
    {
        if (!Command(node, "CLUSTER", "INFO").Contains("cluster_state:ok", StringComparison.Ordinal))
        {
            return false;
        }

        // A replica that has not synced with its primary yet refuses to take over when the primary dies.
        var replication = Command(node, "INFO", "replication");
        if (replication.Contains("role:slave", StringComparison.Ordinal) && !replication.Contains("master_link_status:up", StringComparison.Ordinal))
        {
            return false;
        }

        var running = _nodes.Where(n => n.IsRunning).Select(n => ":" + n.Port.ToString(CultureInfo.InvariantCulture) + "@").ToList();
        return Command(node, "CLUSTER", "NODES").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => running.Any(port => line.Contains(port, StringComparison.Ordinal)))
            .All(line => !line.Contains("fail", StringComparison.Ordinal) && line.Contains("connected", StringComparison.Ordinal));
    }

    /// <summary>Runs one command on <paramref name="node"/> through redis-cli; its output, or "" if the node does not answer.</summary>
    public static string Command(RedisServer node, params string[] args)
    {
        var (code, output) = Run(Cli, ["-p", node.Port.ToString(CultureInfo.InvariantCulture), .. args]);
        return code == 0 ? output : string.Empty;
    }

    private static (int Code, string Output) Run(string binary, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{binary} did not start.");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new InvalidOperationException($"{binary} {string.Join(' ', info.ArgumentList)} did not finish within 60 s.");
        }

        return (process.ExitCode, output + error.Result);
    }

    /// <summary>Kills every node at once (a test host that exits may give the shared cluster's disposal little time).</summary>
    public void Dispose() => Parallel.ForEach(_nodes, static node => node.Dispose());
}

/// <summary>
/// The cluster of the cluster tests (one for the whole "Redis Cluster" collection, started at first use). Killing
/// and restarting its nodes is done by those tests, one at a time; each leaves the cluster healthy.
/// </summary>
public sealed class RedisClusterFixture : IDisposable
{
    private readonly Lazy<LocalRedisCluster> _cluster = new(() => new LocalRedisCluster());

    internal LocalRedisCluster Cluster => _cluster.Value;

    public void Dispose()
    {
        if (_cluster.IsValueCreated)
        {
            _cluster.Value.Dispose();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "Redis Cluster";
}

/// <summary>A test that needs a local Redis Cluster: skipped without redis-server and redis-cli, unless CI is set (then it fails).</summary>
public sealed class RedisClusterFactAttribute : FactAttribute
{
    public RedisClusterFactAttribute()
    {
        if (!LocalRedisCluster.Available && !RedisRequirement.Required)
        {
            Skip = "redis-server or redis-cli is not installed (apt-get install -y redis-server); with CI set this test fails instead.";
        }
    }
}

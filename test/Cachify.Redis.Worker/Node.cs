using System.Globalization;
using CachifyNet;
using CachifyNet.Redis;
using StackExchange.Redis;

/// <summary>
/// The "node" mode: one process of a multi-process coherence test. It holds a <see cref="RedisCacheBackend"/> (local level
/// on, its backplane on <c>{prefix}:backplane</c>) and one cached function of a string key, and obeys line commands on
/// standard input, one at a time, each answered by exactly one line that starts with "ok " or "error ":
/// <list type="bullet">
/// <item><c>get K</c>: calls the function; answers <c>ok VALUE ran R</c>, R = how many times the function ran in this call (0 or 1).</item>
/// <item><c>skip K</c>: the same call with skipCache: true.</item>
/// <item><c>killskip K</c>: CLIENT KILL TYPE pubsub, then at once <c>skip K</c> (its notice may find no subscriber).</item>
/// <item><c>skipmany N K</c>: N such calls back to back; answers the last value.</item>
/// <item><c>invalidate K</c>, <c>clear</c>: answer <c>ok done</c>.</item>
/// <item><c>losses</c>: how many times copies stopped being trusted (seen by a watcher checking every millisecond).</item>
/// <item><c>trusted</c>: answers <c>ok True</c> or <c>ok False</c> (whether local copies are trusted: the backplane is subscribed).</item>
/// </list>
/// A value is <c>VERSION:PID</c>: VERSION comes from INCR {prefix}:test:version (so values are distinct and totally ordered
/// across processes), PID names the process that computed it. It prints "ready" once the backplane is subscribed.
/// Arguments: node ENDPOINT PREFIX NAME TTL_MS NEVER_DIE_IDLE_MS(0: not never-die) sync|async.
/// </summary>
internal static class Node
{
    public static async Task<int> RunAsync(string[] args)
    {
        var endpoint = args[1];
        var prefix = args[2];
        var name = args[3];
        var ttl = TimeSpan.FromMilliseconds(int.Parse(args[4], CultureInfo.InvariantCulture));
        var idleMs = int.Parse(args[5], CultureInfo.InvariantCulture);
        var sync = args[6] == "sync";

        // Short timeouts and fast reconnects, as the tests' own connections (a restarted server is found again at once).
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = 2000,
            AsyncTimeout = 2000,
            ReconnectRetryPolicy = new LinearRetry(100),
            AllowAdmin = true, // killskip sends CLIENT KILL
        };
        foreach (var node in endpoint.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            options.EndPoints.Add(node);
        }

        using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var db = connection.GetDatabase();
        var version = (RedisKey)(prefix + ":test:version");
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = prefix, LockTimeout = TimeSpan.FromSeconds(5) });

        var runs = 0;
        string Compute(string key)
        {
            Interlocked.Increment(ref runs);
            return db.StringIncrement(version).ToString(CultureInfo.InvariantCulture) + ":" + pid;
        }

        async Task<string> ComputeAsync(string key)
        {
            Interlocked.Increment(ref runs);
            return (await db.StringIncrementAsync(version)).ToString(CultureInfo.InvariantCulture) + ":" + pid;
        }

        var syncBuilder = Cachify.Wrap<string, string>(Compute).Named(name).NoSelf().Ttl(ttl);
        var asyncBuilder = Cachify.Wrap<string, string>(ComputeAsync).Named(name).NoSelf().Ttl(ttl);
        var f = (idleMs > 0 ? syncBuilder.NeverDie(TimeSpan.FromMilliseconds(idleMs)) : syncBuilder).Backend(backend);
        var g = (idleMs > 0 ? asyncBuilder.NeverDie(TimeSpan.FromMilliseconds(idleMs)) : asyncBuilder).Backend(backend);

        // Until the first own heartbeat came back, copies are not trusted: the test relies on them from "ready" on.
        while (!backend.LocalLevelTrusted)
        {
            await Task.Delay(5);
        }

        // Counts the times copies stopped being trusted (a lost backplane), for the test to wait for a loss it caused.
        var losses = 0;
        var watcher = new Thread(() =>
        {
            var trusted = true;
            while (true)
            {
                var now = backend.LocalLevelTrusted;
                if (trusted && !now)
                {
                    Interlocked.Increment(ref losses);
                }

                trusted = now;
                Thread.Sleep(1);
            }
        })
        { IsBackground = true };
        watcher.Start();

        Console.WriteLine("ready");
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ', 2);
            string answer;
            try
            {
                var before = Volatile.Read(ref runs);
                switch (parts[0])
                {
                    case "get":
                    case "skip":
                        var skip = parts[0] == "skip";
                        var value = sync ? f.Invoke(parts[1], skipCache: skip) : await g.Invoke(parts[1], skipCache: skip);
                        answer = $"ok {value} ran {Volatile.Read(ref runs) - before}";
                        break;
                    case "killskip":
                        // killskip K: CLIENT KILL TYPE pubsub (every subscription on the server), then at once a skip-cache call.
                        foreach (var server in connection.GetServers())
                        {
                            server.Execute("CLIENT", "KILL", "TYPE", "pubsub");
                        }

                        var afterKill = sync ? f.Invoke(parts[1], skipCache: true) : await g.Invoke(parts[1], skipCache: true);
                        answer = $"ok {afterKill} ran {Volatile.Read(ref runs) - before}";
                        break;
                    case "skipmany":
                        // skipmany N K: N skip-cache calls back to back; answers the last value.
                        var many = parts[1].Split(' ', 2);
                        var last = string.Empty;
                        for (var i = int.Parse(many[0], CultureInfo.InvariantCulture); i > 0; i--)
                        {
                            last = sync ? f.Invoke(many[1], skipCache: true) : await g.Invoke(many[1], skipCache: true);
                        }

                        answer = $"ok {last} ran {Volatile.Read(ref runs) - before}";
                        break;
                    case "invalidate":
                        if (sync)
                        {
                            f.Invalidate(parts[1]);
                        }
                        else
                        {
                            await g.InvalidateAsync(parts[1]);
                        }

                        answer = "ok done";
                        break;
                    case "clear":
                        if (sync)
                        {
                            f.Clear();
                        }
                        else
                        {
                            await g.ClearAsync();
                        }

                        answer = "ok done";
                        break;
                    case "losses":
                        answer = "ok " + Volatile.Read(ref losses).ToString(CultureInfo.InvariantCulture);
                        break;
                    case "trusted":
                        answer = "ok " + backend.LocalLevelTrusted;
                        break;
                    case "exit":
                        return 0;
                    default:
                        answer = "error unknown command " + line;
                        break;
                }
            }
            catch (Exception error)
            {
                answer = "error " + error.GetType().Name + ": " + error.Message.ReplaceLineEndings(" ");
            }

            Console.WriteLine(answer);
        }

        return 3; // the test process closed standard input: it is gone
    }
}

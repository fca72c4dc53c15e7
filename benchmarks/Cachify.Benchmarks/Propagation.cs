using System.Diagnostics;
using System.Globalization;
using CachifyNet.Benchmarks.Infrastructure;
using CachifyNet.Testing;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks;

/// <summary>
/// Cross-process propagation latency (issue 13): one writer process (this one) and N-1 reader processes (this
/// program again, started with <c>--propagation-reader</c>) on one Redis server. The writer changes one key many times
/// (Cachify: <c>Invoke(key, skipCache: true)</c> of a wrapper whose function returns the next version number;
/// FusionCache: <c>SetAsync</c>); every reader reads the key in a loop until it sees the new version and reports when
/// it saw it. The delay of a trial is (reader's timestamp) - (writer's timestamp just before the write call), both
/// <see cref="Stopwatch.GetTimestamp"/>: all processes run on one machine, whose monotonic clock they share. The next
/// trial starts when every reader has seen the version, after a pause of a few milliseconds.
/// </summary>
/// <remarks>
/// <para>Usage: <c>dotnet run -c Release --project benchmarks/Cachify.Benchmarks -- --propagation [cachify|cachify-store|fusion]
/// [--processes 4] [--trials 200] [--poll-ms 0]</c>.</para>
/// <para>Contenders (<see cref="TwoLevels"/>): <c>cachify</c> is Cachify's Redis backend, <c>cachify-store</c> its
/// <c>CacheStoreBackend</c> over Microsoft's <c>RedisCache</c>, <c>fusion</c> FusionCache with its memory level, Redis
/// and its Redis backplane. Before issue 13's local level, a Cachify read is a Redis round trip, so a reader sees a
/// new version as soon as Redis has it; after it, this measures the backplane.</para>
/// <para>Redis: <c>CACHIFY_BENCH_REDIS</c> (or <c>--redis host:port</c>) if set, else a private redis-server started
/// for the run. Readers poll with <c>Thread.Yield()</c> between reads (<c>--poll-ms 0</c>, the default), or sleep
/// that many milliseconds between reads: a spinning reader takes a core, so on a small machine the numbers include
/// scheduling delays.</para>
/// </remarks>
public static class Propagation
{
    private const string Usage = "Usage: --propagation [cachify|cachify-store|fusion] [--processes N (>= 2, default 4)] [--trials N (default 200)] [--poll-ms N (default 0: yield)] [--redis host:port]";
    private const int Key = 7;
    private const int WarmupTrials = 10;
    private static readonly TimeSpan TrialTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The version the writer's function returns next (a static field: the lambda captures nothing).</summary>
    private static int s_version;

    public static int Run(string[] args)
    {
        var mode = args.SkipWhile(arg => arg != "--propagation").Skip(1).FirstOrDefault(arg => !arg.StartsWith("--", StringComparison.Ordinal)) ?? "cachify";
        if (mode is not ("cachify" or "cachify-store" or "fusion"))
        {
            Console.Error.WriteLine($"Unknown contender '{mode}'. {Usage}");
            return 2;
        }

        var processes = IntOption(args, "--processes", 4);
        var trials = IntOption(args, "--trials", 200);
        var pollMs = IntOption(args, "--poll-ms", 0);
        if (processes < 2 || trials < 1 || pollMs < 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var server = StringOption(args, "--redis") is null && !RedisEndpoint.IsConfigured ? new LocalRedisServer("cachify-propagation-redis-") : null;
        var configuration = StringOption(args, "--redis") ?? (server is not null ? server.EndPoint : RedisEndpoint.Configuration);
        var prefix = string.Create(CultureInfo.InvariantCulture, $"cachify-propagation-{Environment.ProcessId}");
        Console.WriteLine($"// Propagation: {mode}, 1 writer + {processes - 1} readers, {trials} trials (+{WarmupTrials} warm-up), readers {(pollMs == 0 ? "yield between reads" : $"sleep {pollMs} ms between reads")}, Redis {configuration}{(server is null ? string.Empty : " (private redis-server)")}, {Environment.ProcessorCount} cores");

        using var writer = Contender.Create(mode, configuration, prefix, writer: true);
        writer.WriteAsync(0).GetAwaiter().GetResult();

        var readers = new List<Reader>();
        try
        {
            for (var i = 0; i < processes - 1; i++)
            {
                readers.Add(Reader.Start(i, mode, configuration, prefix, pollMs));
            }

            foreach (var reader in readers)
            {
                if (!reader.Ready.Wait(TimeSpan.FromSeconds(60)))
                {
                    Console.Error.WriteLine($"Reader {reader.Index} did not start within 60 s.");
                    return 1;
                }
            }

            var delays = new List<double>();
            var writes = new List<double>();
            var timeouts = 0;
            var beforeWriteReturned = 0;
            for (var version = 1; version <= WarmupTrials + trials; version++)
            {
                Thread.Sleep(2 + (version % 3)); // let the previous trial's traffic settle
                var start = Stopwatch.GetTimestamp();
                writer.WriteAsync(version).GetAwaiter().GetResult();
                var written = Stopwatch.GetTimestamp();
                var deadline = Stopwatch.GetTimestamp() + (long)(TrialTimeout.TotalSeconds * Stopwatch.Frequency);
                foreach (var reader in readers)
                {
                    if (!reader.WaitFor(version, deadline, out var seen))
                    {
                        if (reader.HasExited)
                        {
                            Console.Error.WriteLine($"Reader {reader.Index} ended (see its error above); stopping.");
                            return 1;
                        }

                        timeouts += version > WarmupTrials ? 1 : 0;
                        continue;
                    }

                    if (version > WarmupTrials)
                    {
                        delays.Add(Milliseconds(seen - start));
                        beforeWriteReturned += seen < written ? 1 : 0;
                    }
                }

                if (version > WarmupTrials)
                {
                    writes.Add(Milliseconds(written - start));
                }
            }

            Console.WriteLine($"// {mode}: write call (writer)           {Summary(writes)}");
            Console.WriteLine($"// {mode}: new value seen by a reader   {Summary(delays)} (from the start of the write call; {beforeWriteReturned} of {delays.Count} seen before it returned)");
            Console.WriteLine($"// {mode}: timeouts ({TrialTimeout.TotalSeconds:0} s)                {timeouts}");
            return timeouts == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }

            DeleteKeys(configuration, prefix);
        }
    }

    /// <summary>A reader process: reads the key until it sees a new version, prints <c>seen {version} {timestamp}</c>; stops at end of input.</summary>
    public static int RunReader(string[] args)
    {
        var at = Array.IndexOf(args, "--propagation-reader");
        var (mode, configuration, prefix) = (args[at + 1], args[at + 2], args[at + 3]);
        var pollMs = int.Parse(args[at + 4], CultureInfo.InvariantCulture);
        using var contender = Contender.Create(mode, configuration, prefix, writer: false);
        var stop = 0;
        var input = new Thread(() =>
        {
            while (Console.In.ReadLine() is not null)
            {
            }

            Volatile.Write(ref stop, 1);
        }) { IsBackground = true };
        input.Start();

        var last = -1;
        while (Volatile.Read(ref stop) == 0)
        {
            var version = contender.ReadAsync().GetAwaiter().GetResult();
            if (version > last)
            {
                var seen = Stopwatch.GetTimestamp();
                if (last < 0)
                {
                    Console.Out.WriteLine("ready");
                }

                last = version;
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seen {version} {seen}"));
                Console.Out.Flush();
            }

            if (pollMs == 0)
            {
                Thread.Yield();
            }
            else
            {
                Thread.Sleep(pollMs);
            }
        }

        return 0;
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    private static string Summary(List<double> values)
    {
        if (values.Count == 0)
        {
            return "no values";
        }

        values.Sort();
        double At(double q) => values[Math.Clamp((int)Math.Ceiling(q * values.Count) - 1, 0, values.Count - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {At(0.50):0.000} ms, p90 {At(0.90):0.000} ms, p99 {At(0.99):0.000} ms, max {values[^1]:0.000} ms (n = {values.Count})");
    }

    private static int IntOption(string[] args, string name, int fallback)
        => StringOption(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? StringOption(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static void DeleteKeys(string configuration, string prefix)
    {
        using var connection = ConnectionMultiplexer.Connect(configuration);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var database = connection.GetDatabase();
        foreach (var page in server.Keys(database.Database, prefix + "*", pageSize: 500).Chunk(500))
        {
            database.KeyDelete(page);
        }
    }

    /// <summary>One contender in one process: writes or reads the version of the key.</summary>
    private sealed class Contender : IDisposable
    {
        private readonly Func<int, Task> _write;
        private readonly Func<Task<int>> _read;
        private readonly Action _dispose;

        private Contender(Func<int, Task> write, Func<Task<int>> read, Action dispose) => (_write, _read, _dispose) = (write, read, dispose);

        public static Contender Create(string mode, string configuration, string prefix, bool writer)
        {
            switch (mode)
            {
                case "cachify":
                {
                    var (connection, backend) = TwoLevels.CachifyRedis(configuration, prefix);
                    return Cachify(backend, writer, () =>
                    {
                        backend.Dispose();
                        connection.Dispose();
                    });
                }

                case "cachify-store":
                {
                    var (cache, backend) = TwoLevels.CachifyStore(configuration, prefix);
                    return Cachify(backend, writer, () =>
                    {
                        backend.Dispose();
                        cache.Dispose();
                    });
                }

                default:
                {
                    var (fusion, distributed) = TwoLevels.Fusion(configuration, prefix + "-fusion");
                    var key = string.Create(CultureInfo.InvariantCulture, $"version:{Key}");
                    return new Contender(
                        version => fusion.SetAsync(key, version).AsTask(),
                        () => fusion.GetOrDefaultAsync(key, -1).AsTask(),
                        () =>
                        {
                            fusion.Dispose();
                            distributed.Dispose();
                        });
                }
            }
        }

        public Task WriteAsync(int version) => _write(version);

        public Task<int> ReadAsync() => _read();

        public void Dispose() => _dispose();

        private static Contender Cachify(ICacheBackend backend, bool writer, Action dispose)
        {
            // The writer's function returns the next version; a reader's must never run (the key is always there).
            var wrapper = writer
                ? CachifyNet.Cachify.Wrap((int key) => Task.FromResult(Volatile.Read(ref s_version))).Named("propagation.version").NoSelf().Backend(backend)
                : CachifyNet.Cachify.Wrap((int key) => Task.FromException<int>(new InvalidOperationException("A reader ran the function: the entry was missing."))).Named("propagation.version").NoSelf().Backend(backend);
            return new Contender(
                version =>
                {
                    Volatile.Write(ref s_version, version);
                    return wrapper.Invoke(Key, skipCache: true);
                },
                () => wrapper.Invoke(Key),
                dispose);
        }
    }

    /// <summary>A reader process and what it reported.</summary>
    private sealed class Reader : IDisposable
    {
        private readonly Process _process;
        private readonly Dictionary<int, long> _seen = [];

        private Reader(int index, Process process)
        {
            Index = index;
            _process = process;
        }

        public int Index { get; }

        public bool HasExited => _process.HasExited;

        public ManualResetEventSlim Ready { get; } = new();

        public static Reader Start(int index, string mode, string configuration, string prefix, int pollMs)
        {
            var path = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown.");
            var info = new ProcessStartInfo(path)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            };

            // Run as `dotnet Cachify.Benchmarks.dll`, the reader needs the assembly too.
            if (Path.GetFileNameWithoutExtension(path) == "dotnet")
            {
                info.ArgumentList.Add(typeof(Propagation).Assembly.Location);
            }

            foreach (var arg in new[] { "--propagation-reader", mode, configuration, prefix, pollMs.ToString(CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(arg);
            }

            var reader = new Reader(index, Process.Start(info) ?? throw new InvalidOperationException("The reader process did not start."));
            reader._process.OutputDataReceived += (_, line) => reader.OnLine(line.Data);
            reader._process.BeginOutputReadLine();
            return reader;
        }

        /// <summary>Waits until the reader saw <paramref name="version"/> (or a newer one) or <paramref name="deadline"/> passes.</summary>
        public bool WaitFor(int version, long deadline, out long seen)
        {
            lock (_seen)
            {
                while (true)
                {
                    if (_seen.TryGetValue(version, out seen))
                    {
                        return true;
                    }

                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0 || _process.HasExited)
                    {
                        return false;
                    }

                    Monitor.Wait(_seen, TimeSpan.FromSeconds(Math.Min(left / (double)Stopwatch.Frequency, 0.1)));
                }
            }
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close(); // the reader stops at end of input
                if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    _process.Kill();
                }
            }
            finally
            {
                _process.Dispose();
                Ready.Dispose();
            }
        }

        private void OnLine(string? line)
        {
            if (line == "ready")
            {
                Ready.Set();
                return;
            }

            if (line?.Split(' ') is ["seen", var version, var timestamp])
            {
                lock (_seen)
                {
                    _seen[int.Parse(version, CultureInfo.InvariantCulture)] = long.Parse(timestamp, CultureInfo.InvariantCulture);
                    Monitor.PulseAll(_seen);
                }
            }
            else if (line is not null)
            {
                Console.WriteLine($"// reader {Index}: {line}");
            }
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using CachifyNet.Benchmarks.Infrastructure;
using CachifyNet.Benchmarks.Redis;
using CachifyNet.Testing;

namespace CachifyNet.Benchmarks;

/// <summary>
/// <c>--levels-rounds [--rounds 15]</c>: the hit and miss rows of <see cref="LevelsBenchmarks"/> (same setup, same
/// checks) in one process, interleaved: each round times a batch of every row in turn (about 20 ms each), and the
/// report gives each row's best and median round. On a machine shared with other work, the best of interleaved rounds
/// is steadier than separate BenchmarkDotNet processes run minutes apart. Allocations are this thread's bytes per call
/// (exact for calls that complete synchronously, such as memory hits).
/// </summary>
public static class LevelsRounds
{
    public static int Run(string[] args)
    {
        var at = Array.IndexOf(args, "--rounds");
        var rounds = at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : 15;
        using var server = RedisEndpoint.IsConfigured ? null : new LocalRedisServer("cachify-levels-rounds-");
        if (server is not null)
        {
            Environment.SetEnvironmentVariable(RedisEndpoint.Variable, server.EndPoint);
        }

        var levels = new LevelsBenchmarks();
        levels.Setup();
        try
        {
            var rows = new (string Name, Action Call)[]
            {
                (nameof(levels.Hit_CachifyMemory), () => levels.Hit_CachifyMemory().GetAwaiter().GetResult()),
                (nameof(levels.Hit_CachifyRedis), () => levels.Hit_CachifyRedis().GetAwaiter().GetResult()),
                (nameof(levels.Hit_CachifyStoreOverRedisCache), () => levels.Hit_CachifyStoreOverRedisCache().GetAwaiter().GetResult()),
                (nameof(levels.Hit_FusionCache), () => levels.Hit_FusionCache().GetAwaiter().GetResult()),
                (nameof(levels.Hit_HybridCache), () => levels.Hit_HybridCache().GetAwaiter().GetResult()),
                (nameof(levels.Miss_CachifyMemory), () => levels.Miss_CachifyMemory().GetAwaiter().GetResult()),
                (nameof(levels.Miss_CachifyRedis), () => levels.Miss_CachifyRedis().GetAwaiter().GetResult()),
                (nameof(levels.Miss_CachifyStoreOverRedisCache), () => levels.Miss_CachifyStoreOverRedisCache().GetAwaiter().GetResult()),
                (nameof(levels.Miss_FusionCache), () => levels.Miss_FusionCache().GetAwaiter().GetResult()),
                (nameof(levels.Miss_HybridCache), () => levels.Miss_HybridCache().GetAwaiter().GetResult()),
            };

            // Calibrate: calls per batch so that a batch takes about 20 ms.
            var batch = rows.Select(row =>
            {
                var watch = Stopwatch.StartNew();
                var calls = 0;
                while (watch.ElapsedMilliseconds < 20)
                {
                    row.Call();
                    calls++;
                }

                return Math.Max(calls, 10);
            }).ToArray();

            var times = rows.Select(_ => new List<double>()).ToArray();
            var bytes = rows.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                for (var i = 0; i < rows.Length; i++)
                {
                    var call = rows[i].Call;
                    var allocated = GC.GetAllocatedBytesForCurrentThread();
                    var start = Stopwatch.GetTimestamp();
                    for (var n = 0; n < batch[i]; n++)
                    {
                        call();
                    }

                    var elapsed = Stopwatch.GetTimestamp() - start;
                    bytes[i].Add((GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)batch[i]);
                    times[i].Add(elapsed * 1e9 / Stopwatch.Frequency / batch[i]);
                }
            }

            Console.WriteLine($"// Levels, interleaved: {rounds} rounds, load average {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?")}, {Environment.ProcessorCount} cores");
            Console.WriteLine("| row | best ns/call | median ns/call | B/call (this thread, median) | calls/batch |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            for (var i = 0; i < rows.Length; i++)
            {
                times[i].Sort();
                bytes[i].Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {rows[i].Name} | {times[i][0]:N1} | {times[i][times[i].Count / 2]:N1} | {bytes[i][bytes[i].Count / 2]:N0} | {batch[i]:N0} |"));
            }

            return 0;
        }
        finally
        {
            levels.Cleanup();
        }
    }
}

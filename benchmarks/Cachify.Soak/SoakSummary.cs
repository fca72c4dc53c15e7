using System.Globalization;

namespace CachifyNet.Soak;

/// <summary>The figures of a run, printed at the end; the exit code says whether it passed.</summary>
public sealed class SoakSummary
{
    public required SoakOptions Options { get; init; }

    public required TimeSpan Elapsed { get; init; }

    public required WorkerStats Totals { get; init; }

    public required int Kills { get; init; }

    public required MemoryFigures Start { get; init; }

    public required MemoryFigures End { get; init; }

    public required ExecutionCheck Executions { get; init; }

    public required long NeverDieExecutions { get; init; }

    public required long NeverDieFailures { get; init; }

    public required long RedisExecutions { get; init; }

    /// <summary>The gauges of the "Cachify" meter at the end.</summary>
    public required GaugeFigures Gauges { get; init; }

    /// <summary>Entries in use at the end: none should be left in the lock tables or waiting.</summary>
    public bool Leftovers => !Gauges.Settled;

    /// <summary>0 passed; 1 a wrong value was returned; 2 a call failed, executions exceeded their bound, or entries were left behind.</summary>
    public int ExitCode => Totals.Wrong > 0 ? 1 : Totals.FailedCount > 0 || Executions.KeysOverBound > 0 || Leftovers ? 2 : 0;

    public void Print(TextWriter output)
    {
        var o = Options;
        var redis = o.RedisLocal
            ? $" + Redis (local redis-server, two multiplexers; {(o.KillEvery > TimeSpan.Zero ? $"SIGKILLed every {o.KillEvery.TotalSeconds:F0} s and restarted 5 s later: {Kills} kill(s)" : "never killed")})"
            : o.RedisConnection is not null ? " + Redis (" + o.RedisConnection + ", two multiplexers)" : string.Empty;
        var t = Totals;
        output.WriteLine();
        output.WriteLine($"Cachify soak summary ({Elapsed.TotalSeconds:F0} s, {o.Workers} workers: {(o.Workers + 1) / 2} sync threads + {o.Workers / 2} async tasks, {o.Keys:N0} keys, memory{redis})");
        output.WriteLine($"  calls           {t.Calls:N0} (memory {t.Memory.Count:N0}, never-die {t.NeverDie.Count:N0}, redis {t.Redis.Count:N0}; the rest invalidations and clears)");
        output.WriteLine($"  wrong values    {t.Wrong:N0}" + (t.WrongSamples.Count > 0 ? " e.g. " + string.Join("; ", t.WrongSamples.Take(3)) : string.Empty));
        output.WriteLine($"  failed calls    {t.FailedCount:N0}" + (t.Failures.Count > 0 ? " (" + string.Join(", ", t.Failures.Select(f => $"{f.Value:N0} {f.Key}")) + ")" : string.Empty));
        if (t.RemovalsRefused > 0)
        {
            output.WriteLine($"  invalidations refused while Redis was away (CachifyException, by design in every error mode) {t.RemovalsRefused:N0}");
        }
        output.WriteLine($"  latency memory  {Latency(t.Memory)}");
        output.WriteLine($"  latency never-die {Latency(t.NeverDie)}");
        if (o.UsesRedis)
        {
            output.WriteLine($"  latency redis   {Latency(t.Redis)}");
        }

        output.WriteLine($"  executions      memory {Executions.Executions:N0} against a bound of {Executions.Bound:N0} (first call + skip-caches + invalidations + clears + one per TTL elapsed), keys over their bound: {Executions.KeysOverBound}");
        output.WriteLine($"                  never-die {NeverDieExecutions:N0} ({NeverDieFailures:N0} failed: outages of 5 s every 30 s and 1 call in 5); redis {RedisExecutions:N0}");
        output.WriteLine($"  memory          working set {Mb(Start.WorkingSet)} -> {Mb(End.WorkingSet)}, GC heap {Mb(Start.GcHeap)} -> {Mb(End.GcHeap)} (after full collections)");
        output.WriteLine($"  gauges          lock tables {Gauges.MemoryLocks + Gauges.RedisLocks} keys in use (memory {Gauges.MemoryLocks}, redis {Gauges.RedisLocks}); " +
            $"scheduler {Gauges.Scheduled:N0} items for {Gauges.ScheduledExpected:N0} expiring or never-die entries ({Gauges.NeverDieEntries} never-die); " +
            $"front {Gauges.MemoryEntries:N0} entries, IMemoryCache {Gauges.CacheEntries:N0}; " +
            $"redis never-die registry {Gauges.RedisNeverDieRegistry}, waiters {Gauges.RedisWaiters}");
        output.WriteLine($"  result          {(ExitCode == 0 ? "PASS" : "FAIL")} (exit code {ExitCode})");
    }

    private static string Latency(LatencyHistogram h)
        => h.Count == 0 ? "no calls" : $"p50 {Format(h.Percentile(0.5))}, p99 {Format(h.Percentile(0.99))}, p99.9 {Format(h.Percentile(0.999))}, max {Format(h.MaxNanoseconds)}";

    private static string Format(double nanoseconds) => nanoseconds switch
    {
        >= 1_000_000 => (nanoseconds / 1_000_000).ToString("N1", CultureInfo.InvariantCulture) + " ms",
        >= 1_000 => (nanoseconds / 1_000).ToString("N1", CultureInfo.InvariantCulture) + " µs",
        _ => nanoseconds.ToString("N0", CultureInfo.InvariantCulture) + " ns",
    };

    private static string Mb(long bytes) => (bytes / 1e6).ToString("N1", CultureInfo.InvariantCulture) + " MB";
}

using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// The meter and activity source named "Cachify". Every instrument is tagged with the function name
/// (<c>cachify.function</c>) and the backend (<c>cachify.backend</c>). Recording costs a field read when
/// nobody listens, so the hit path stays free.
/// </summary>
internal static class Telemetry
{
    public const string Name = "Cachify";
    public const string FunctionTag = "cachify.function";
    public const string BackendTag = "cachify.backend";
    public const string OperationTag = "cachify.operation";
    public const string LockCount = "cachify.lock.count";
    public const string ScheduledCount = "cachify.scheduled.count";
    public const string EntryCount = "cachify.entry.count";
    public const string LockWaiterCount = "cachify.lock.waiter.count";

    public static readonly Meter Meter = new(Name, typeof(Telemetry).Assembly.GetName().Version?.ToString());
    public static readonly ActivitySource Source = new(Name, typeof(Telemetry).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> Hits = Meter.CreateCounter<long>("cachify.hits", "{call}", "Calls answered from the cache.");
    private static readonly Counter<long> Misses = Meter.CreateCounter<long>("cachify.misses", "{call}", "Calls that found no usable entry (they execute the function or join an execution).");
    private static readonly Counter<long> Executions = Meter.CreateCounter<long>("cachify.executions", "{execution}", "Executions of the wrapped function (calls, skip-cache calls and refreshes).");
    private static readonly Counter<long> Joins = Meter.CreateCounter<long>("cachify.stampede.joins", "{call}", "Calls that waited for an execution another caller started instead of running the function.");
    private static readonly Counter<long> RefreshSuccesses = Meter.CreateCounter<long>("cachify.refresh.successes", "{refresh}", "Never-die refreshes that stored a new value.");
    private static readonly Counter<long> RefreshFailures = Meter.CreateCounter<long>("cachify.refresh.failures", "{refresh}", "Never-die refreshes that failed (the last good value is kept).");
    private static readonly Counter<long> BackendErrors = Meter.CreateCounter<long>("cachify.backend.errors", "{error}", "Backend operations that failed (with OnError = Silent the call still succeeds).");
    private static readonly Histogram<double> ExecutionDuration = Meter.CreateHistogram<double>("cachify.execution.duration", "s", "How long executions of the wrapped function take.");

    /// <summary>The live backends the gauges read, held weakly: a backend nobody disposes is still collected.</summary>
    private static readonly ConditionalWeakTable<BackendServices, object> Backends = CreateGauges();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(Tags tags)
    {
        if (Hits.Enabled)
        {
            Hits.Add(1, tags.Function, tags.Backend);
        }
    }

    public static void Miss(Tags tags)
    {
        if (Misses.Enabled)
        {
            Misses.Add(1, tags.Function, tags.Backend);
        }
    }

    public static void Joined(Tags tags)
    {
        if (Joins.Enabled)
        {
            Joins.Add(1, tags.Function, tags.Backend);
        }
    }

    /// <summary>Starts timing an execution; returns a timestamp for <see cref="Executed"/> and the activity, if sampled.</summary>
    public static Activity? StartExecution(Tags tags, out long started)
    {
        started = ExecutionDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        if (Executions.Enabled)
        {
            Executions.Add(1, tags.Function, tags.Backend);
        }

        var activity = Source.HasListeners() ? Source.StartActivity("cachify.execute", ActivityKind.Internal) : null;
        if (activity is not null)
        {
            activity.SetTag(FunctionTag, tags.Function.Value);
            activity.SetTag(BackendTag, tags.Backend.Value);
        }

        return activity;
    }

    public static void Executed(Tags tags, Activity? activity, long started, Exception? error)
    {
        if (started != 0)
        {
            ExecutionDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags.Function, tags.Backend);
        }

        if (activity is not null)
        {
            if (error is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, error.Message);
                activity.AddTag("exception.type", error.GetType().FullName);
            }

            activity.Dispose();
        }
    }

    public static void Refreshed(Tags tags, bool success)
    {
        var counter = success ? RefreshSuccesses : RefreshFailures;
        if (counter.Enabled)
        {
            counter.Add(1, tags.Function, tags.Backend);
        }
    }

    public static void BackendError(Tags tags, string operation)
    {
        if (BackendErrors.Enabled)
        {
            BackendErrors.Add(1, tags.Function, tags.Backend, new KeyValuePair<string, object?>(OperationTag, operation));
        }
    }

    /// <summary>
    /// Creates the instruments that report current counts, observed when the meter is collected: up-down counters rather
    /// than gauges (OpenTelemetry's instrument for a count of things, like <c>dotnet.timer.count</c>), since summed over
    /// backends they still mean something. Returns the table of backends they read.
    /// </summary>
    private static ConditionalWeakTable<BackendServices, object> CreateGauges()
    {
        Meter.CreateObservableUpDownCounter(
            LockCount, static () => ObserveByBackend(static services => services.LockCount), "{key}",
            "Keys in the per-key lock tables of this process: calls running or waiting for an execution. 0 when nothing runs; growth while idle is a leak.");
        Meter.CreateObservableUpDownCounter(
            ScheduledCount, static () => ObserveByBackend(static services => services.Scheduler.EntryCount), "{entry}",
            "Entries the backends' schedulers hold: TTL expiries (memory) and never-die refreshes. Follows the entries held; growth beyond them is a leak.");
        Meter.CreateObservableUpDownCounter(
            LockWaiterCount, static () => ObserveByBackend(static services => services.Waiters?.Count ?? 0, static services => services.Waiters is not null), "{waiter}",
            "Callers waiting for another process's lock (backends over a store with a lock). 0 when no call waits; growth while idle is a leak.");
        Meter.CreateObservableUpDownCounter(EntryCount, ObserveEntries, "{entry}", "Entries held in process memory (the memory backend's entries, a distributed backend's local copies), by function.");
        return new();
    }

    /// <summary>Lets the gauges read <paramref name="services"/> until <see cref="Untrack"/> or until it is collected.</summary>
    public static void Track(BackendServices services) => Backends.AddOrUpdate(services, services.Kind);

    /// <summary>A disposed backend leaves the gauges.</summary>
    public static void Untrack(BackendServices services) => Backends.Remove(services);

    /// <summary>One measurement per backend kind (several backends of one kind add up), so no tag set repeats.</summary>
    private static List<Measurement<long>> ObserveByBackend(Func<BackendServices, long> read, Func<BackendServices, bool>? applies = null)
    {
        var totals = new Dictionary<string, long>(2, StringComparer.Ordinal);
        foreach (var (services, _) in Backends)
        {
            if (applies is null || applies(services))
            {
                totals[services.Kind] = totals.GetValueOrDefault(services.Kind) + read(services);
            }
        }

        var measurements = new List<Measurement<long>>(totals.Count);
        foreach (var (kind, total) in totals)
        {
            measurements.Add(new Measurement<long>(total, new KeyValuePair<string, object?>(BackendTag, kind)));
        }

        return measurements;
    }

    private static List<Measurement<long>> ObserveEntries()
    {
        var totals = new Dictionary<(string Backend, string Function), long>();
        foreach (var (services, _) in Backends)
        {
            foreach (var (keyspace, function) in services.NamedKeyspaces)
            {
                if (keyspace.EntryCount is { } count)
                {
                    var at = (services.Kind, function);
                    totals[at] = totals.GetValueOrDefault(at) + count;
                }
            }
        }

        var measurements = new List<Measurement<long>>(totals.Count);
        foreach (var ((backend, function), total) in totals)
        {
            measurements.Add(new Measurement<long>(total, new KeyValuePair<string, object?>(FunctionTag, function), new KeyValuePair<string, object?>(BackendTag, backend)));
        }

        return measurements;
    }

    /// <summary>The tags of one wrapper, built once at bind time.</summary>
    internal sealed class Tags(string function, string backend)
    {
        public KeyValuePair<string, object?> Function { get; } = new(FunctionTag, function);

        public KeyValuePair<string, object?> Backend { get; } = new(BackendTag, backend);
    }
}

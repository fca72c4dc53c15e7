using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CachifyNet.Tests;

/// <summary>Metrics, traces and logs, read the way an app's telemetry pipeline reads them.</summary>
public class TelemetryTests : IDisposable
{
    private readonly MemoryFixture _fx = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Instrument, string Function), long> _counts = new();
    private readonly ConcurrentBag<(string Function, double Seconds)> _durations = [];

    public TelemetryTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Cachify")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _counts.AddOrUpdate((instrument.Name, FunctionOf(tags)), value, (_, v) => v + value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _durations.Add((FunctionOf(tags), value)));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _fx.Dispose();
    }

    [Fact]
    public async Task Metrics_CountHitsMissesExecutionsAndJoins_TaggedByFunction()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) => { await release.Task; return x; }).Named("telemetry.counts").Backend(_fx.Backend);

        var callers = Enumerable.Range(0, 3).Select(_ => f.Invoke(1)).ToArray();
        release.SetResult();
        await Task.WhenAll(callers).Within("every caller got the value");
        await f.Invoke(1);
        await f.Invoke(1);

        Assert.Equal(3, Count("cachify.misses", "telemetry.counts"));
        Assert.Equal(1, Count("cachify.executions", "telemetry.counts"));
        Assert.Equal(2, Count("cachify.stampede.joins", "telemetry.counts"));
        Assert.Equal(2, Count("cachify.hits", "telemetry.counts"));
        Assert.Single(_durations, d => d.Function == "telemetry.counts");
    }

    [Fact]
    public async Task Metrics_CountRefreshSuccessesAndFailures()
    {
        var fail = false;
        var f = Cachify.Wrap((int x) => Volatile.Read(ref fail) ? throw new InvalidOperationException() : x).Named("telemetry.refresh")
            .Ttl(TimeSpan.FromSeconds(1)).NeverDie().Backend(_fx.Backend);
        f.Invoke(1);

        _fx.Advance(TimeSpan.FromSeconds(1));
        await _fx.RefreshesDone();
        Volatile.Write(ref fail, true);
        _fx.Advance(TimeSpan.FromSeconds(1));
        await _fx.RefreshesDone();

        Assert.Equal(1, Count("cachify.refresh.successes", "telemetry.refresh"));
        Assert.Equal(1, Count("cachify.refresh.failures", "telemetry.refresh"));
    }

    [Fact]
    public void Traces_EveryExecutionIsAnActivity()
    {
        var activities = new ConcurrentBag<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Cachify",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(activityListener);
        var f = Cachify.Wrap((int x) => x > 1 ? throw new InvalidOperationException("no") : x).Named("telemetry.trace").Backend(_fx.Backend);

        f.Invoke(1);
        f.Invoke(1);
        Assert.Throws<InvalidOperationException>(() => f.Invoke(2));

        var mine = activities.Where(a => (string?)a.GetTagItem("cachify.function") == "telemetry.trace").ToList();
        Assert.Equal(2, mine.Count);
        Assert.All(mine, a => Assert.Equal("cachify.execute", a.OperationName));
        Assert.Single(mine, a => a.Status == ActivityStatusCode.Error);
    }

    [Fact]
    public async Task Logs_RefreshFailureIsAWarningWithStableEventId()
    {
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        using var fx = new MemoryFixture(loggerFactory: loggerFactory);
        var attempts = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref attempts) > 1 ? throw new TimeoutException("db") : x).Named("telemetry.logs")
            .Ttl(TimeSpan.FromSeconds(1)).NeverDie().Backend(fx.Backend);
        f.Invoke(1);

        fx.Advance(TimeSpan.FromSeconds(1));
        await fx.RefreshesDone();

        var record = Assert.Single(logs.GetSnapshot());
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Equal(1001, record.Id.Id);
        Assert.IsType<TimeoutException>(record.Exception);
        Assert.Contains("telemetry.logs", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_UnnamedLambda_TaggedWithTheMethodThatWrapsIt()
    {
        var f = Cachify.Wrap((int x, CancellationToken ct) => Task.FromResult(x)).Backend(_fx.Backend);
        await f.Invoke(1);
        await f.Invoke(1);

        const string name = "TelemetryTests.Metrics_UnnamedLambda_TaggedWithTheMethodThatWrapsIt.lambda";
        Assert.Equal(1, Count("cachify.misses", name));
        Assert.Equal(1, Count("cachify.hits", name));
    }

    private long Count(string instrument, string function) => _counts.TryGetValue((instrument, function), out var value) ? value : 0;

    private static string FunctionOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "cachify.function")
            {
                return (string)tag.Value!;
            }
        }

        return string.Empty;
    }
}

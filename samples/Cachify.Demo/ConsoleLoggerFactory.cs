using Microsoft.Extensions.Logging;

namespace CachifyNet.Demo;

/// <summary>Prints Cachify's warnings (such as failed never-die refreshes) in the tour's format.</summary>
public sealed class ConsoleLoggerFactory(Func<string> clock) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Logger(clock);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(Func<string> clock) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Console.WriteLine($"{clock()}     cachify {logLevel.ToString().ToLowerInvariant()}: {formatter(state, exception)}");
            }
        }
    }
}

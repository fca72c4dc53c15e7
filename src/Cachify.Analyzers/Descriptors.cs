using Microsoft.CodeAnalysis;

namespace CachifyNet.Analyzers;

/// <summary>The diagnostics of the Cachify analyzers (docs/analyzers.md).</summary>
internal static class Descriptors
{
    private const string Category = "Usage";

    public static readonly DiagnosticDescriptor DiscardedOption = new(
        id: "CACHIFY001",
        title: "Result of a Cachify option is discarded",
        messageFormat: "The result of '{0}' is discarded: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Every fluent option (Ttl, NeverDie, IgnoreArgs, NoSelf, KeyBy, Named, Backend, UseRedis, ...) returns a new immutable wrapper. Called as a statement, it has no effect.");

    public static readonly DiagnosticDescriptor KeyByConflict = new(
        id: "CACHIFY002",
        title: "KeyBy cannot be combined with IgnoreArgs or NoSelf",
        messageFormat: "'{0}' cannot follow '{1}' in one chain: KeyBy sees every argument and replaces the argument part of the key, so IgnoreArgs and NoSelf have no meaning beside it, and Cachify refuses this chain with InvalidOperationException; leave arguments out of the key function instead",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Cachify refuses a chain that combines KeyBy with IgnoreArgs or NoSelf with InvalidOperationException.");

    public static readonly DiagnosticDescriptor UnknownIgnoredArgument = new(
        id: "CACHIFY003",
        title: "IgnoreArgs names a parameter the wrapped function does not have",
        messageFormat: "'{0}' is not a parameter of the wrapped function; valid names: {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "IgnoreArgs takes the parameter names of the wrapped lambda or method; an unknown name throws ArgumentException when the chain is configured.");

    public static readonly DiagnosticDescriptor TaskWrappedAsSync = new(
        id: "CACHIFY004",
        title: "A function returning a task is wrapped as a synchronous function",
        messageFormat: "The wrapped function returns '{0}', so the synchronous Wrap is chosen, which would cache the task object itself; Cachify refuses it at run time (ArgumentException); {1}",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Asynchronous functions are cached by the Wrap overload for functions returning Task<TResult>, which caches the task's result. ValueTask<TResult> converts with .AsTask(); a function returning Task or ValueTask has no result to cache.");
}

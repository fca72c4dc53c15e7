using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace CachifyNet.Analyzers;

/// <summary>Reports the Cachify mistakes the compiler cannot see: CACHIFY001 to CACHIFY004 (docs/analyzers.md).</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CachifyAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Diagnostic property: the parameter name closest to an unknown IgnoreArgs name (CACHIFY003).</summary>
    public const string ClosestNameKey = "ClosestName";

    /// <summary>Diagnostic property: the kind of task the synchronous Wrap got (CACHIFY004): Task, TaskOfT, ValueTask or ValueTaskOfT.</summary>
    public const string TaskKindKey = "TaskKind";

    private const int MaxReceiverText = 40;

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        Descriptors.DiscardedOption, Descriptors.KeyByConflict, Descriptors.UnknownIgnoredArgument, Descriptors.TaskWrappedAsSync);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            // Nothing to do in a compilation that does not see Cachify.
            if (start.Compilation.GetTypeByMetadataName("CachifyNet.Cachify") is null)
            {
                return;
            }

            start.RegisterOperationAction(AnalyzeStatement, OperationKind.ExpressionStatement);
            start.RegisterOperationAction(AnalyzeInvocation, OperationKind.Invocation);
        });
    }

    // CACHIFY001: `w.Ttl(...);` as a statement.
    private static void AnalyzeStatement(OperationAnalysisContext context)
    {
        var statement = (IExpressionStatementOperation)context.Operation;
        if (CachifyApi.Unwrap(statement.Operation) is not IInvocationOperation invocation)
        {
            return;
        }

        string detail;
        if (CachifyApi.IsOption(invocation))
        {
            var root = CachifyApi.Receiver(invocation)!;
            while (CachifyApi.Unwrap(root) is IInvocationOperation inner && CachifyApi.IsOption(inner))
            {
                root = CachifyApi.Receiver(inner)!;
            }

            var rootText = root.Syntax.ToString();
            var name = invocation.TargetMethod.Name;
            detail = CachifyApi.Unwrap(root) is IInvocationOperation || rootText.Length > MaxReceiverText
                ? "Cachify options return a new wrapper and never change the one they are called on; keep the result"
                : $"Cachify options return a new wrapper and leave '{rootText}' unchanged; assign the result: '{rootText} = {rootText}.{name}(...)'";
        }
        else if (CachifyApi.IsWrap(invocation.TargetMethod))
        {
            detail = "the new cached function is never used; keep it in a field or variable and call it";
        }
        else
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(Descriptors.DiscardedOption, NameLocation(invocation), invocation.TargetMethod.Name, detail));
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (CachifyApi.IsWrap(invocation.TargetMethod))
        {
            AnalyzeWrap(context, invocation);
            return;
        }

        var name = invocation.TargetMethod.Name;
        if (name is not ("KeyBy" or "IgnoreArgs" or "NoSelf") || !CachifyApi.IsOption(invocation))
        {
            return;
        }

        var (earlier, wrap) = CachifyApi.Chain(invocation);

        // CACHIFY002: KeyBy with IgnoreArgs/NoSelf, reported where the chain throws (the later of the two).
        var conflict = earlier.FirstOrDefault(e => name == "KeyBy"
            ? e.TargetMethod.Name is "IgnoreArgs" or "NoSelf"
            : e.TargetMethod.Name == "KeyBy");
        if (conflict is not null)
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.KeyByConflict, NameLocation(invocation), name, conflict.TargetMethod.Name));
        }

        // CACHIFY003: IgnoreArgs("name") where the wrapped function has no such parameter.
        if (name == "IgnoreArgs" && wrap is not null && CachifyApi.WrappedParameterNames(wrap) is { } parameters)
        {
            foreach (var argument in NameArguments(invocation))
            {
                if (argument.ConstantValue is { HasValue: true, Value: string text } && !parameters.Contains(text))
                {
                    var valid = parameters.Count == 0 ? "(the function has no parameters)" : string.Join(", ", parameters);
                    var properties = ImmutableDictionary<string, string?>.Empty;
                    if (Closest(text, parameters) is { } closest)
                    {
                        properties = properties.Add(ClosestNameKey, closest);
                    }

                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.UnknownIgnoredArgument, argument.Syntax.GetLocation(), properties, text, valid));
                }
            }
        }
    }

    // CACHIFY004: the synchronous Wrap of a function returning Task, Task<T>, ValueTask or ValueTask<T>.
    private static void AnalyzeWrap(OperationAnalysisContext context, IInvocationOperation wrap)
    {
        if (!CachifyApi.IsSyncWrapperType(wrap.TargetMethod.ReturnType)
            || wrap.TargetMethod.ReturnType is not INamedTypeSymbol { TypeArguments: { Length: > 0 } typeArguments })
        {
            return;
        }

        var result = typeArguments[typeArguments.Length - 1];
        var kind = TaskKind(result);
        if (kind is null)
        {
            return;
        }

        var advice = kind switch
        {
            "TaskOfT" => "give the result type, not the task, as the last type argument (Wrap<…, T>), so the asynchronous overload caches the task's result",
            "ValueTaskOfT" => "return a Task<T> instead (convert with .AsTask(), or declare an async lambda without an explicit ValueTask return type), so the asynchronous overload caches the result",
            _ => "a function without a result has nothing to cache: return Task<T> with the value to cache",
        };

        var properties = ImmutableDictionary<string, string?>.Empty.Add(TaskKindKey, kind);
        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.TaskWrappedAsSync,
            NameLocation(wrap),
            properties,
            result.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat),
            advice));
    }

    /// <summary>Task, TaskOfT, ValueTask, ValueTaskOfT, or null for any other type.</summary>
    internal static string? TaskKind(ITypeSymbol type)
    {
        if (type is not INamedTypeSymbol named
            || named.ContainingNamespace?.ToDisplayString() != "System.Threading.Tasks")
        {
            return null;
        }

        return (named.Name, named.Arity) switch
        {
            ("Task", 0) => "Task",
            ("Task", 1) => "TaskOfT",
            ("ValueTask", 0) => "ValueTask",
            ("ValueTask", 1) => "ValueTaskOfT",
            _ => null,
        };
    }

    /// <summary>The name arguments of IgnoreArgs, whether passed as separate strings or as an array.</summary>
    private static System.Collections.Generic.IEnumerable<IOperation> NameArguments(IInvocationOperation invocation)
    {
        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.Ordinal == 0 && invocation.TargetMethod.IsExtensionMethod)
            {
                continue;
            }

            if (CachifyApi.Unwrap(argument.Value) is IArrayCreationOperation { Initializer: { } initializer })
            {
                foreach (var element in initializer.ElementValues)
                {
                    yield return element;
                }
            }
            else
            {
                yield return argument.Value;
            }
        }
    }

    /// <summary>The parameter name within a small edit distance of <paramref name="text"/>, if exactly one is the closest.</summary>
    internal static string? Closest(string text, System.Collections.Generic.IReadOnlyList<string> names)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var tie = false;
        foreach (var name in names)
        {
            var distance = string.Equals(name, text, System.StringComparison.OrdinalIgnoreCase) ? 0 : Distance(text, name);
            if (distance < bestDistance)
            {
                (best, bestDistance, tie) = (name, distance, false);
            }
            else if (distance == bestDistance)
            {
                tie = true;
            }
        }

        var limit = System.Math.Max(2, text.Length / 3);
        return best is not null && !tie && bestDistance <= limit ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = System.Math.Min(System.Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>The location of the method name of an invocation (<c>Ttl</c> in <c>w.Ttl(x)</c>), or of the whole call.</summary>
    private static Location NameLocation(IInvocationOperation invocation)
        => invocation.Syntax is InvocationExpressionSyntax { Expression: var expression }
            ? expression switch
            {
                MemberAccessExpressionSyntax member => member.Name.Identifier.GetLocation(),
                MemberBindingExpressionSyntax binding => binding.Name.Identifier.GetLocation(),
                SimpleNameSyntax name => name.Identifier.GetLocation(),
                _ => expression.GetLocation(),
            }
            : invocation.Syntax.GetLocation();
}

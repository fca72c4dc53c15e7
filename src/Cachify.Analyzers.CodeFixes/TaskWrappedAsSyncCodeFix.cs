using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Operations;

namespace CachifyNet.Analyzers;

/// <summary>
/// CACHIFY004: moves a function returning <c>Task&lt;T&gt;</c> or <c>ValueTask&lt;T&gt;</c> to the asynchronous Wrap. An explicit
/// result type argument <c>Task&lt;T&gt;</c>/<c>ValueTask&lt;T&gt;</c> becomes <c>T</c>; a lambda's explicit return type
/// <c>ValueTask&lt;T&gt;</c> becomes <c>Task&lt;T&gt;</c>; a non-async expression lambda returning <c>ValueTask&lt;T&gt;</c> gets
/// <c>.AsTask()</c>. A method group returning <c>ValueTask&lt;T&gt;</c>, a block-bodied lambda, and functions without a
/// result are left to the developer.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(TaskWrappedAsSyncCodeFix))]
[Shared]
public sealed class TaskWrappedAsSyncCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.TaskWrappedAsSync.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
        {
            return;
        }

        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(CachifyAnalyzer.TaskKindKey, out var kind)
                || kind is not ("TaskOfT" or "ValueTaskOfT")
                || root.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<InvocationExpressionSyntax>() is not { } call
                || model.GetOperation(call, context.CancellationToken) is not IInvocationOperation wrap
                || Plan(call, wrap, kind == "ValueTaskOfT", model, context.CancellationToken) is not { } plan)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Cache the task's result with the asynchronous Wrap",
                    token => ApplyAsync(context.Document, plan, token),
                    equivalenceKey: nameof(TaskWrappedAsSyncCodeFix)),
                diagnostic);
        }
    }

    private static async Task<Document> ApplyAsync(Document document, ImmutableArray<(SyntaxNode Old, SyntaxNode New)> plan, CancellationToken cancellationToken)
    {
        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);
        foreach (var (old, replacement) in plan)
        {
            editor.ReplaceNode(old, replacement);
        }

        return editor.GetChangedDocument();
    }

    /// <summary>The replacements that move the call to the asynchronous overload, or null when there is no mechanical fix.</summary>
    private static ImmutableArray<(SyntaxNode Old, SyntaxNode New)>? Plan(
        InvocationExpressionSyntax call, IInvocationOperation wrap, bool isValueTask, SemanticModel model, CancellationToken cancellationToken)
    {
        var edits = ImmutableArray.CreateBuilder<(SyntaxNode Old, SyntaxNode New)>();
        var typeArguments = Name(call) is GenericNameSyntax generic ? generic.TypeArgumentList.Arguments : default;
        var hasTypeArguments = typeArguments.Count > 0;
        if (hasTypeArguments)
        {
            var last = typeArguments[typeArguments.Count - 1];
            edits.Add((last, ResultType(last, model, cancellationToken).WithTriviaFrom(last)));
        }

        var function = CachifyApi.WrappedFunction(wrap);
        if (function is IMethodReferenceOperation)
        {
            // A method returning Task<T> works with the corrected type argument; one returning ValueTask<T> needs a lambda.
            return hasTypeArguments && !isValueTask ? edits.ToImmutable() : null;
        }

        if (function is not IAnonymousFunctionOperation { Syntax: AnonymousFunctionExpressionSyntax lambda })
        {
            return null;
        }

        if (isValueTask)
        {
            if (lambda is ParenthesizedLambdaExpressionSyntax { ReturnType: { } returnType })
            {
                if (ToTask(returnType) is not { } taskType)
                {
                    return null;
                }

                edits.Add((returnType, taskType));
            }
            else if (!hasTypeArguments && lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword))
            {
                return null;
            }

            if (!lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword))
            {
                if (lambda.ExpressionBody is not { } body)
                {
                    return null;
                }

                var asTask = SyntaxFactory.InvocationExpression(
                    SyntaxFactory.MemberAccessExpression(
                        SyntaxKind.SimpleMemberAccessExpression,
                        Receiver(body.WithoutTrivia()),
                        SyntaxFactory.IdentifierName("AsTask")));
                edits.Add((body, asTask.WithTriviaFrom(body)));
            }
        }

        return edits.Count == 0 ? null : edits.ToImmutable();
    }

    private static SimpleNameSyntax? Name(InvocationExpressionSyntax call) => call.Expression switch
    {
        MemberAccessExpressionSyntax member => member.Name,
        SimpleNameSyntax name => name,
        _ => null,
    };

    /// <summary><c>Task&lt;X&gt;</c> or <c>ValueTask&lt;X&gt;</c> → <c>X</c>.</summary>
    private static TypeSyntax ResultType(TypeSyntax taskType, SemanticModel model, CancellationToken cancellationToken)
    {
        var generic = taskType switch
        {
            GenericNameSyntax g => g,
            QualifiedNameSyntax { Right: GenericNameSyntax g } => g,
            AliasQualifiedNameSyntax { Name: GenericNameSyntax g } => g,
            _ => null,
        };
        if (generic is { TypeArgumentList.Arguments.Count: 1 })
        {
            return generic.TypeArgumentList.Arguments[0];
        }

        var type = model.GetTypeInfo(taskType, cancellationToken).Type as INamedTypeSymbol;
        return SyntaxFactory.ParseTypeName(type!.TypeArguments[0].ToMinimalDisplayString(model, taskType.SpanStart));
    }

    /// <summary><c>ValueTask&lt;X&gt;</c> → <c>Task&lt;X&gt;</c>, keeping any qualification.</summary>
    private static TypeSyntax? ToTask(TypeSyntax valueTaskType) => valueTaskType switch
    {
        GenericNameSyntax g => g.WithIdentifier(SyntaxFactory.Identifier("Task").WithTriviaFrom(g.Identifier)),
        QualifiedNameSyntax { Right: GenericNameSyntax g } q => q.WithRight(g.WithIdentifier(SyntaxFactory.Identifier("Task").WithTriviaFrom(g.Identifier))),
        _ => null,
    };

    private static ExpressionSyntax Receiver(ExpressionSyntax expression)
        => expression is IdentifierNameSyntax or GenericNameSyntax or InvocationExpressionSyntax or MemberAccessExpressionSyntax or ElementAccessExpressionSyntax
                or ParenthesizedExpressionSyntax or ObjectCreationExpressionSyntax
            ? expression
            : SyntaxFactory.ParenthesizedExpression(expression);
}

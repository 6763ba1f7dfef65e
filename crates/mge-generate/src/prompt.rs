//! The chat prompt sent for a request; the simulated provider counts the same text.

use crate::{estimate_tokens, GenerationRequest};

/// A rendered prompt: one system and one user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

impl Prompt {
    /// Estimated input tokens of the two messages.
    pub fn estimated_tokens(&self) -> u32 {
        estimate_tokens(&self.system).saturating_add(estimate_tokens(&self.user))
    }
}

/// Render the messages of a request. The reference code (`expected`) is never part of the prompt.
pub fn render(request: &GenerationRequest) -> Prompt {
    let language = request.language.as_str();
    let system = format!(
        "You write {language} code. Reply with the code of the requested {kind} only, in one \
         fenced code block, without explanations. Keep the names and signatures given in the \
         context.",
        kind = request.unit_kind.as_str(),
    );
    let mut user = String::new();
    if !request.file_path.is_empty() {
        user.push_str(&format!("File: {}\n", request.file_path));
    }
    user.push_str(&format!(
        "Unit: {} ({})\n\n",
        request.unit_id,
        request.unit_kind.as_str()
    ));
    if !request.context.trim().is_empty() {
        user.push_str(&format!(
            "Context:\n```{language}\n{}\n```\n\n",
            request.context.trim_end()
        ));
    }
    user.push_str("Task:\n");
    user.push_str(request.prompt.trim_end());
    user.push('\n');
    if let Some(feedback) = request.feedback.as_deref().filter(|f| !f.trim().is_empty()) {
        user.push_str(&format!(
            "\nThe previous attempt failed validation with these errors; fix them:\n{}\n",
            feedback.trim_end()
        ));
    }
    Prompt { system, user }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UnitKind;
    use expect_test::expect;
    use mge_core::Language;

    #[test]
    fn renders_context_task_and_feedback_but_never_the_reference() {
        let request = GenerationRequest {
            unit_id: "shop/util.py#3".into(),
            unit_kind: UnitKind::Atom,
            language: Language::Python,
            file_path: "shop/util.py".into(),
            prompt: "Write clamp(x, lo, hi).".into(),
            context: "from decimal import Decimal\n".into(),
            feedback: Some("line 2: undefined name 'hii'".into()),
            temperature: 0.3,
            attempt: 2,
            expected: Some("SECRET_REFERENCE".into()),
        };
        let prompt = render(&request);
        assert!(!prompt.user.contains("SECRET_REFERENCE"));
        expect![[r#"
            File: shop/util.py
            Unit: shop/util.py#3 (atom)

            Context:
            ```python
            from decimal import Decimal
            ```

            Task:
            Write clamp(x, lo, hi).

            The previous attempt failed validation with these errors; fix them:
            line 2: undefined name 'hii'
        "#]]
        .assert_eq(&prompt.user);
        assert_eq!(
            prompt.estimated_tokens(),
            estimate_tokens(&prompt.system) + estimate_tokens(&prompt.user)
        );
    }
}

class DescribedErrorsMixin:
    """Ties each field's error message to its input (aria-describedby), so screen readers
    read the error with the field. `_field.html` renders the ids used here."""

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            field = self[name]
            ids = [f"{field.auto_id}_error"]
            if field.help_text:
                ids.insert(0, f"{field.auto_id}_helptext")
            self.fields[name].widget.attrs["aria-describedby"] = " ".join(ids)

from django.contrib import admin

from learn.models import CourseRun, MeetingDate


class MeetingDateInline(admin.TabularInline):
    model = MeetingDate
    extra = 3


@admin.register(CourseRun)
class CourseRunAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "starts_on"]
    list_filter = ["course"]
    search_fields = ["name", "course__title"]
    inlines = [MeetingDateInline]
